// The benchmark's pure parts (statistics, result shape, session generator, profile and plan parsing), then a tiny
// end-to-end run at 200 turns on a synthetic LoCoMo conversation, checking the JSON it writes.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConversation } from '../../scripts/eval/locomo.js';
import { baselineLine, batches, parseTauTools, sessionTurns, shuffle, TOOL_EVERY, type Corpus } from '../../scripts/bench/data.js';
import { scans } from '../../scripts/bench/explain.js';
import { busyMs, statementLabel, type Recorded } from '../../scripts/bench/kept.js';
import { cli, parseOptions } from '../../scripts/bench/main.js';
import { frameOwner, summarizeProfile } from '../../scripts/bench/profile.js';
import { assertBenchJson, formatTable, metrics, result, target, type Result } from '../../scripts/bench/report.js';
import { median, percentile, round, summarize } from '../../scripts/bench/stats.js';
import { WriteTurnsBody } from '../../src/schemas/turns.js';
import { locomoConversation, writeLocomoFolder } from '../fixtures/locomo.js';

const conversation = locomoConversation;

const corpusOf = (tools: Corpus['tools'] = []): Corpus => ({
  conversations: [parseConversation(conversation, 'conv-x')],
  tools,
  questions: ['What hobby did Nora start?'],
  toolSource: 'test',
});

describe('statistics', () => {
  it('takes nearest-rank percentiles: always a real sample, never an interpolation', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100, unsorted
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 95)).toBe(95);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(percentile([10, 20], 95)).toBe(20);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(Number.isNaN(percentile([], 50))).toBe(true);
    expect(() => percentile([1], 101)).toThrow();
    expect(xs[0]).toBe(100); // the input is not sorted in place
  });

  it('summarises and rounds for display', () => {
    expect(summarize([1, 2, 3, 4])).toMatchObject({ n: 4, p50: 2, p95: 4, p99: 4, max: 4, mean: 2.5 });
    expect(round(1234.567)).toBe(1235);
    expect(round(123.456)).toBe(123.5);
    expect(round(12.3456)).toBe(12.35);
    expect(round(1.23456)).toBe(1.235);
  });
});

describe('results', () => {
  const rows: Result[] = [
    result('product', 10_000, 'query_p95_ms', 20),
    result('recency', 10_000, 'query_p95_ms', 1),
    result('bm25', 10_000, 'query_p95_ms', 40),
    result('product', 10_000, 'write_turns_per_s', 3000),
    result('bm25', 10_000, 'write_turns_per_s', 30000),
  ];

  it('checks the documented JSON shape', () => {
    expect(() => assertBenchJson({ results: rows })).not.toThrow();
    expect(() => assertBenchJson({})).toThrow(/results/);
    expect(() => assertBenchJson({ results: [{ ...rows[0], case: 'other' }] })).toThrow(/case/);
    expect(() => assertBenchJson({ results: [{ ...rows[0], metric: 'nope' }] })).toThrow(/metric/);
    expect(() => assertBenchJson({ results: [{ ...rows[0], unit: 's' }] })).toThrow(/unit/);
    expect(() => assertBenchJson({ results: [{ ...rows[0], value: Number.NaN }] })).toThrow(/value/);
    expect(() => assertBenchJson({ results: [{ ...rows[0], turns: 0 }] })).toThrow(/turns/);
    expect(rows[0]).toEqual({ case: 'product', turns: 10_000, metric: 'query_p95_ms', value: 20, unit: 'ms' });
  });

  it('reads as ratios against each baseline and checks the targets', () => {
    const table = formatTable(rows);
    expect(table).toContain('| 10,000 | query_p95_ms | ms | 20 | 1 | 40 | 20× worse | 2× better | ≤ 25 ✅ met |');
    expect(table).toContain('| 10,000 | write_turns_per_s | turns/s | 3,000 | – | 30,000 | – | 10× worse | ≥ 2,000 ✅ met |');
    expect(target('query_p95_ms', 100_000)!.check(61)).toBe(false);
    expect(target('query_p95_ms', 1_000)).toBeUndefined();
    expect(target('peak_rss_mb', 100_000)!.text).toBe('< 300');
    for (const m of Object.values(metrics)) expect(m.unit).toBeTruthy();
  });
});

describe('options', () => {
  it('defaults to three sizes, and to two with --quick', () => {
    expect(parseOptions([]).sizes).toEqual([1000, 10_000, 100_000]);
    expect(parseOptions(['--quick']).sizes).toEqual([1000, 10_000]);
    expect(parseOptions(['--sizes', '200,1k']).sizes).toEqual([200, 1000]);
    expect(() => parseOptions(['--sizes', '0'])).toThrow(/sizes/);
    expect(() => parseOptions(['--cases', 'product,other'])).toThrow(/other/);
    expect(() => parseOptions(['--database', 'postgres://db.example.com/x'])).toThrow(/loopback/);
    expect(() => parseOptions(['--redis', 'redis://127.0.0.1:6379'])).toThrow(/--database/);
    expect(parseOptions(['--node-args', ' --liftoff-only  --max-semi-space-size=16 ']).nodeArgs).toEqual(['--liftoff-only', '--max-semi-space-size=16']);
    expect(parseOptions([]).nodeArgs).toEqual([]);
  });
});

describe('generated sessions', () => {
  it('repeats the conversation with new ids and later dates, with linked tool calls, valid for the write API', () => {
    const turns = [...sessionTurns(corpusOf(), 40)];
    expect(turns).toHaveLength(40);
    expect(new Set(turns.map((t) => t.external_id)).size).toBe(40);
    const copies = turns.filter((t) => t.external_id.endsWith('.conv-x.D1:1'));
    // 34 conversational turns (six are tool traffic) of an 8-turn conversation: five copies begin.
    expect(copies.map((t) => t.external_id)).toEqual(['0.conv-x.D1:1', '1.conv-x.D1:1', '2.conv-x.D1:1', '3.conv-x.D1:1', '4.conv-x.D1:1']);
    expect(Date.parse(copies[1]!.created_at)).toBeGreaterThan(Date.parse(copies[0]!.created_at));
    for (const [i, t] of turns.entries()) {
      if (t.role !== 'tool') continue;
      expect(turns[i - 1]!.tool_calls?.[0]?.id).toBe(t.tool_call_id);
      expect(JSON.parse(t.content).matches.length).toBeGreaterThan(0);
    }
    // 10 turns, a call and its result, three times, then 4 turns.
    expect(TOOL_EVERY).toBe(10);
    expect(turns.filter((t) => t.role === 'tool')).toHaveLength(3);
    for (const batch of batches(turns, 100)) expect(() => WriteTurnsBody.parse({ turns: batch })).not.toThrow();
    expect([...sessionTurns(corpusOf(), 40)]).toEqual(turns); // deterministic
    expect(baselineLine(turns[0]!)).toBe('[2023-04-03 10:15] Nora: Hi Ivo! I finally started pottery classes on Monday.');
  });

  it('takes tool traffic from τ-bench trajectories when given', () => {
    const tools = parseTauTools([
      {
        traj: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', function: { name: 'get_user_details', arguments: '{"user_id":"mia_li_3668"}' } }] },
          { role: 'tool', tool_call_id: 'c1', name: 'get_user_details', content: '{"name":"Mia"}' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c2', function: { name: 'unanswered', arguments: '{}' } }] },
        ],
      },
      { no_traj: true },
    ]);
    expect(tools).toEqual([{ name: 'get_user_details', arguments: '{"user_id":"mia_li_3668"}', result: '{"name":"Mia"}' }]);
    const turns = [...sessionTurns(corpusOf(tools), 12)];
    expect(turns).toHaveLength(12);
    expect(turns[10]).toMatchObject({ role: 'assistant', content: '', tool_calls: [{ name: 'get_user_details' }] });
    expect(turns[11]).toMatchObject({ role: 'tool', content: '{"name":"Mia"}', tool_call_id: turns[10]!.tool_calls![0]!.id });
  });

  it('batches lazily and shuffles deterministically', () => {
    expect([...batches([1, 2, 3, 4, 5], 2)]).toEqual([[1, 2], [3, 4], [5]]);
    expect(shuffle([1, 2, 3, 4, 5, 6], 7)).toEqual(shuffle([1, 2, 3, 4, 5, 6], 7));
    expect(shuffle([1, 2, 3, 4, 5, 6], 7).sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('profile and plan parsing', () => {
  it('counts overlapping statements once when measuring database time', () => {
    const r = (start: number, ms: number) => ({ start, ms }) as Recorded;
    expect(busyMs([r(0, 10), r(5, 10), r(20, 5)])).toBe(20);
    expect(busyMs([])).toBe(0);
    expect(statementLabel('SELECT 1 FROM memories WHERE x')).toBe('memory recall');
  });

  it('attributes frames to their owner and sums self time inside the window only', () => {
    expect(frameOwner('wasm://wasm/0123', 'wasm-function[1]')).toBe('PGlite (Postgres in WASM)');
    expect(frameOwner('file:///p/node_modules/@electric-sql/pglite/dist/index.js', 'bytes')).toBe('@electric-sql/pglite');
    expect(frameOwner('file:///p/node_modules/hono/dist/x.js', 'f')).toBe('hono');
    expect(frameOwner('file:///p/src/pipeline/retriever/rank.ts', 'rankCandidates')).toBe('src/pipeline/retriever/rank.ts');
    expect(frameOwner('', '(garbage collector)')).toBe('(garbage collector)');
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: 0 }, children: [2] },
        { id: 2, callFrame: { functionName: 'queryContext', url: 'file:///p/src/services/query-context.ts', lineNumber: 0 }, children: [3] },
        { id: 3, callFrame: { functionName: 'count', url: 'file:///p/src/tokenizer.ts', lineNumber: 0 } },
      ],
      startTime: 1000,
      endTime: 9000,
      samples: [2, 3, 3, 3, 2],
      timeDeltas: [1000, 1000, 1000, 1000, 1000],
    };
    // Samples at 2000 (queryContext), 3000, 4000, 5000 (count) fall in the window; 6000 does not.
    const s = summarizeProfile(profile, 1500, 5500, 10);
    expect(s.samples).toBe(4);
    expect(s.self).toEqual([
      { fn: 'count', where: 'src/tokenizer.ts', ms: 3, share: 0.75 },
      { fn: 'queryContext', where: 'src/services/query-context.ts', ms: 1, share: 0.25 },
    ]);
    expect(s.inclusive.map((x) => [x.fn, x.ms])).toEqual([['queryContext', 4], ['count', 3]]);
  });

  it('reads which index each part of a plan uses', () => {
    const plan = [
      'Nested Loop Left Join  (cost=0.52..16.95 rows=2 width=44) (actual time=0.616..51.267 rows=643.00 loops=1)',
      '  ->  Index Scan Backward using turns_session_sequence_idx on turns  (cost=0.29..8.31 rows=1 width=4) (actual time=2.725..9.878 rows=128.40 loops=5)',
      '  ->  Bitmap Index Scan on turns_tsv_idx  (cost=0.00..1.00 rows=1 width=0) (actual time=0.100..0.200 rows=10 loops=1)',
      '  ->  Seq Scan on turns  (cost=0.00..1.00 rows=1 width=0) (actual time=0.100..3.000 rows=10 loops=2)',
    ];
    expect(scans(plan)).toEqual([
      { kind: 'Index Scan', index: 'turns_session_sequence_idx', table: 'turns', loops: 5, ms: 9.878 * 5, rows: 128.4 },
      { kind: 'Bitmap Index Scan', index: 'turns_tsv_idx', table: '', loops: 1, ms: 0.2, rows: 10 },
      { kind: 'Seq Scan', table: 'turns', loops: 2, ms: 6, rows: 10 },
    ]);
  });
});

describe('a tiny run at 200 turns', () => {
  let dir: string;
  let json: any;
  let stdout = '';
  let stderr = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'bench-test-'));
    const data = await writeLocomoFolder(dir, conversation);
    const out = path.join(dir, 'out', 'bench.json');
    await cli(
      ['--data', data, '--tools', 'none', '--sizes', '200', '--queries', '3', '--warm', '5', '--batch1', '5', '--json', out],
      { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t) },
    );
    json = JSON.parse(await readFile(out, 'utf8'));
  }, 240_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes { results: [{ case, turns, metric, value, unit }] } for every case', () => {
    expect(() => assertBenchJson(json)).not.toThrow();
    for (const r of json.results) expect(Object.keys(r).sort()).toEqual(['case', 'metric', 'turns', 'unit', 'value']);
    expect(new Set(json.results.map((r: Result) => r.turns))).toEqual(new Set([200]));
    const of = (c: string) => new Set(json.results.filter((r: Result) => r.case === c).map((r: Result) => r.metric));
    const common = ['write_turns_per_s', 'query_p50_ms', 'query_p95_ms', 'query_p99_ms', 'query_warm_p95_ms', 'peak_rss_mb'];
    for (const c of ['product', 'recency', 'bm25']) for (const m of common) expect(of(c)).toContain(m);
    for (const m of ['compress_200_ms', 'rebuild_200_ms', 'write_batch1_turns_per_s', 'tokenizer_tokens_per_s']) expect(of('product')).toContain(m);
    for (const r of json.results) expect(r.value).toBeGreaterThan(0);
    expect(json.meta.machine.nproc).toBeGreaterThan(0);
  });

  it('prints the table on stdout and progress on stderr', () => {
    expect(stdout).toContain('| turns | metric | unit | product | recency | bm25 |');
    expect(stdout).toContain('| 200 | query_p95_ms | ms |');
    expect(stderr).toContain('[bench] product: starting');
    expect(stderr).toContain('[bench] wrote');
  });
});
