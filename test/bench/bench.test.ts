// The benchmark's pure parts (statistics, result shape, session generator, profile and plan parsing), then a tiny
// end-to-end run at 200 turns on a synthetic LoCoMo conversation, checking the JSON it writes.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConversation } from '../../scripts/eval/locomo.js';
import {
  baselineLine,
  batches,
  parseTauTools,
  sessionTurns,
  shuffle,
  TOOL_EVERY,
  userSessions,
  warmUpQuestions,
  type Corpus,
} from '../../scripts/bench/data.js';
import { scans } from '../../scripts/bench/explain.js';
import { busyMs, statementLabel, type Recorded } from '../../scripts/bench/kept.js';
import { cli, parseOptions } from '../../scripts/bench/main.js';
import {
  bundleModules,
  formatLines,
  frameOwner,
  hotLines,
  ownerIn,
  summarizeProfile,
} from '../../scripts/bench/profile.js';
import { assertBenchJson, formatTable, metrics, result, target, type Result } from '../../scripts/bench/report.js';
import { median, percentile, round, summarize } from '../../scripts/bench/stats.js';
import { parseUserShape, questionTurn, recalledTurns } from '../../scripts/bench/user.js';
import { ContextRequest, Envelope } from '../../src/schemas/context.js';
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
    expect(round(0.123456)).toBe(0.1235);
    expect(round(0.000051234)).toBe(0.00005123);
    expect(round(0)).toBe(0);
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
    expect(table).toContain(
      '| 10,000 | query_p95_ms | ms | 20 | 1 | 40 | 20× worse | 2× better | ≤ 2 × bm25 (80) ✅ met |',
    );
    expect(table).toContain(
      '| 10,000 | write_turns_per_s | turns/s | 3,000 | – | 30,000 | – | 10× worse | ≥ 2,000 ✅ met |',
    );
    // Query latency is held against the run's own BM25: twice it at 10k, once at 100k, nothing without it.
    expect(target('query_p95_ms', 10_000, 3)!.check(6)).toBe(true);
    expect(target('query_p95_ms', 10_000, 3)!.check(6.1)).toBe(false);
    expect(target('query_p95_ms', 100_000, 50)!.check(51)).toBe(false);
    expect(target('query_p95_ms', 100_000, 50)!.text).toBe('≤ bm25 (50)');
    expect(target('query_p95_ms', 100_000)).toBeUndefined();
    expect(target('query_p95_ms', 1_000, 3)).toBeUndefined();
    expect(target('query_cpu_p50_ms', 1_000)!.check(5)).toBe(true);
    expect(target('query_cpu_p50_ms', 10_000)!.check(5.1)).toBe(false);
    expect(target('query_cpu_p50_ms', 100_000)).toBeUndefined();
    expect(target('query_warm_p95_ms', 1_000)!.check(2.1)).toBe(false);
    expect(target('peak_rss_mb', 100_000)!.text).toBe('≤ 500');
    expect(target('user_query_p95_ms', 100_000)!.text).toBe('≤ 60');
    expect(target('user_query_p95_ms', 100_000)!.check(61)).toBe(false);
    expect(target('user_query_p95_ms', 10_000)!.check(25)).toBe(true);
    expect(target('user_query_p95_ms', 10_000)!.check(25.1)).toBe(false);
    expect(target('user_query_p95_ms', 50)).toBeUndefined();
    // Counts are shown beside the baseline without a "better"/"worse" ratio.
    const counts = [result('product', 100, 'user_recalled_turns', 5), result('bm25', 100, 'user_recalled_turns', 40)];
    const recall = formatTable(counts);
    expect(recall).toContain('| 100 | user_recalled_turns | turns | 5 | – | 40 | – | – |  |');
    // A fast answer that recalled nothing from the other sessions does not meet the target.
    const fast = [result('product', 10_000, 'user_query_p95_ms', 5), result('bm25', 10_000, 'user_query_p95_ms', 4)];
    const none = formatTable([...fast, result('product', 10_000, 'user_recalled_turns', 0)]);
    expect(none).toContain('| 10,000 | user_query_p95_ms | ms | 5 | – | 4 | – | 1.25× worse | ≤ 25 ⚠️ void: no recall');
    const some = formatTable([...fast, result('product', 10_000, 'user_recalled_turns', 3)]);
    expect(some).toContain('| ≤ 25 ✅ met |');
    for (const m of Object.values(metrics)) expect(m.unit).toBeTruthy();
  });
});

describe("counting the user's other sessions' turns in an answer", () => {
  const [a, b, c] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
  const item = (id: string, content: string) => ({
    id,
    source: 'retrieved' as const,
    sequence: 1,
    role: 'user',
    name: null,
    content,
    created_at: null,
    score: 1,
    truncated: false,
  });
  const envelope = (history: ReturnType<typeof item>[], findings: { id: string; content: string }[] = []) =>
    Envelope.parse({
      task_summary: '',
      hard_constraints: [],
      relevant_history: history,
      retrieved_memory: [{ id: 'm1', content: 'Likes tea.', scope: 'user', kind: 'preference', score: 1 }],
      tool_findings: findings.map((f) => ({ ...f, tool_call_id: null, name: null, truncated: true })),
      budget_report: {
        budget_tokens: 2000,
        reserve_tokens: 0,
        frame_tokens: 10,
        used_tokens: 100,
        sections: [],
        dropped: [{ id: c, section: 'relevant_history', reason: 'over_budget', score: 0.1, tokens: 20 }],
      },
    });
  const ids = new Set([a, b, c]);
  const contents = new Set(['I finally started pottery classes on Monday.']);

  it('finds them by id, inside a composite id, or by content, once each, wherever they are placed', () => {
    const env = envelope(
      [item(a, 'shortened'), item('own-question', 'What hobby did Nora start?'), item(`s:bench-user-s3:${b}`, 'x')],
      [
        { id: a, content: 'the same turn again' },
        { id: 'f2', content: [...contents][0]! },
      ],
    );
    expect(recalledTurns(env, ids, contents)).toBe(3);
  });

  it('counts none in an answer from the new session alone, nor what the budget report says was dropped', () => {
    expect(recalledTurns(envelope([item('own-question', 'What hobby did Nora start?')]), ids, contents)).toBe(0);
    expect(recalledTurns(envelope([]), ids, contents)).toBe(0);
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
    expect(parseOptions(['--node-args', ' --liftoff-only  --max-semi-space-size=16 ']).nodeArgs).toEqual([
      '--liftoff-only',
      '--max-semi-space-size=16',
    ]);
    expect(parseOptions([]).nodeArgs).toEqual([]);
  });

  it('runs the user case at 1,000 × 100 turns, 100 × 100 with --quick, any shape with --user', () => {
    expect(parseOptions([]).cases).toEqual(['product', 'recency', 'bm25', 'user']);
    expect(parseOptions([]).user).toEqual({ sessions: 1000, turns: 100 });
    expect(parseOptions(['--quick']).user).toEqual({ sessions: 100, turns: 100 });
    const user = parseOptions(['--user', '5x10', '--cases', 'user']);
    expect(user).toMatchObject({ user: { sessions: 5, turns: 10 }, cases: ['user'] });
    expect(parseUserShape('1k×100')).toEqual({ sessions: 1000, turns: 100 });
    for (const bad of ['5', '0x10', '5x0', 'x10', '5x10x2']) expect(() => parseUserShape(bad)).toThrow(/--user/);
  });

  it('warms up on 300 of the last questions by default, never on a measured one', () => {
    expect(parseOptions([]).warmUpQueries).toBe(300);
    expect(parseOptions(['--warm-up', '0']).warmUpQueries).toBe(0);
    expect(() => parseOptions(['--warm-up', '-1'])).toThrow(/warm-up/);
    const questions = Array.from({ length: 10 }, (_, i) => `q${i}`);
    expect(warmUpQuestions(questions, 4, 3)).toEqual(['q7', 'q8', 'q9']);
    // Fewer questions than both sets want: the measured ones are never asked beforehand.
    expect(warmUpQuestions(questions, 4, 300)).toEqual(['q4', 'q5', 'q6', 'q7', 'q8', 'q9']);
    expect(warmUpQuestions(questions, 10, 300)).toEqual([]);
    expect(warmUpQuestions(questions, 4, 0)).toEqual([]);
  });
});

describe('generated sessions', () => {
  it('repeats the conversation with new ids and later dates, with linked tool calls, valid for the write API', () => {
    const turns = [...sessionTurns(corpusOf(), 40)];
    expect(turns).toHaveLength(40);
    expect(new Set(turns.map((t) => t.external_id)).size).toBe(40);
    const copies = turns.filter((t) => t.external_id.endsWith('.conv-x.D1:1'));
    // 34 conversational turns (six are tool traffic) of an 8-turn conversation: five copies begin.
    expect(copies.map((t) => t.external_id)).toEqual([
      '0.conv-x.D1:1',
      '1.conv-x.D1:1',
      '2.conv-x.D1:1',
      '3.conv-x.D1:1',
      '4.conv-x.D1:1',
    ]);
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
    expect(baselineLine(turns[0]!)).toBe(
      '[2023-04-03 10:15] Nora: Hi Ivo! I finally started pottery classes on Monday.',
    );
  });

  it('takes tool traffic from τ-bench trajectories when given', () => {
    const tools = parseTauTools([
      {
        traj: [
          { role: 'user', content: 'hi' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c1', function: { name: 'get_user_details', arguments: '{"user_id":"mia_li_3668"}' } }],
          },
          { role: 'tool', tool_call_id: 'c1', name: 'get_user_details', content: '{"name":"Mia"}' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c2', function: { name: 'unanswered', arguments: '{}' } }],
          },
        ],
      },
      { no_traj: true },
    ]);
    expect(tools).toEqual([
      { name: 'get_user_details', arguments: '{"user_id":"mia_li_3668"}', result: '{"name":"Mia"}' },
    ]);
    const turns = [...sessionTurns(corpusOf(tools), 12)];
    expect(turns).toHaveLength(12);
    expect(turns[10]).toMatchObject({ role: 'assistant', content: '', tool_calls: [{ name: 'get_user_details' }] });
    expect(turns[11]).toMatchObject({
      role: 'tool',
      content: '{"name":"Mia"}',
      tool_call_id: turns[10]!.tool_calls![0]!.id,
    });
  });

  it("splits the endless session into one user's sessions, never ending one on a tool call", () => {
    // Calls at stream positions 10, 22, 34 and 46: the first would end session 1, so it opens session 2.
    const sessions = [...userSessions(corpusOf(), 5, 11)];
    expect(sessions.map((s) => s.length)).toEqual([10, 11, 11, 11, 11]);
    const all = sessions.flat();
    // The same turns in the same order as one session.
    expect(all).toEqual([...sessionTurns(corpusOf(), all.length)]);
    for (const s of sessions) {
      expect(s.at(-1)!.tool_calls).toBeUndefined();
      expect(() => WriteTurnsBody.parse({ turns: s, user_id: 'u', agent_id: 'a' })).not.toThrow();
    }
    // A call and its result always share a session.
    for (const s of sessions)
      for (const [i, t] of s.entries())
        if (t.role === 'tool') expect(s[i - 1]!.tool_calls![0]!.id).toBe(t.tool_call_id);
    expect(sessions[1]![0]!.tool_calls).toHaveLength(1);
    expect([...userSessions(corpusOf(), 5, 10)].map((s) => s.length)).toEqual([10, 10, 10, 10, 10]);
    const q = questionTurn('Where?', 0, all.at(-1)!.created_at);
    expect(q).toMatchObject({ role: 'user', content: 'Where?', external_id: 'q1' });
    expect(Date.parse(q.created_at) - Date.parse(all.at(-1)!.created_at)).toBe(86_400_000);
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
    expect(frameOwner('file:///p/node_modules/@electric-sql/pglite/dist/index.js', 'bytes')).toBe(
      '@electric-sql/pglite',
    );
    expect(frameOwner('file:///p/node_modules/hono/dist/x.js', 'f')).toBe('hono');
    expect(frameOwner('file:///p/src/pipeline/retriever/rank.ts', 'rankCandidates')).toBe(
      'src/pipeline/retriever/rank.ts',
    );
    expect(frameOwner('', '(garbage collector)')).toBe('(garbage collector)');
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: 0 }, children: [2] },
        {
          id: 2,
          callFrame: { functionName: 'queryContext', url: 'file:///p/src/services/query-context.ts', lineNumber: 0 },
          children: [3],
        },
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
    expect(s.inclusive.map((x) => [x.fn, x.ms])).toEqual([
      ['queryContext', 4],
      ['count', 3],
    ]);
  });

  it("attributes a bundled driver's frames and lines to the modules they come from", () => {
    const text = [
      'import x from "hono";',
      '// src/tokenizer.ts',
      'function count(t) {',
      '  return t.length;',
      '}',
      '// src/pipeline/retriever/rank.ts',
      'function rankSignals(c) {',
      '  for (const a of c) s.add(a | b);',
      '}',
    ].join('\n');
    const moduleAt = bundleModules(text);
    expect([1, 2, 4, 6, 9].map(moduleAt)).toEqual([
      undefined,
      'src/tokenizer.ts',
      'src/tokenizer.ts',
      'src/pipeline/retriever/rank.ts',
      'src/pipeline/retriever/rank.ts',
    ]);
    const url = 'file:///p/node_modules/.cache/context-engine/profile-driver.mjs';
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: 0 }, children: [2] },
        {
          id: 2,
          callFrame: { functionName: 'rankSignals', url, lineNumber: 6 },
          children: [3],
          positionTicks: [{ line: 8, ticks: 3 }],
        },
        { id: 3, callFrame: { functionName: 'count', url, lineNumber: 2 }, positionTicks: [{ line: 4, ticks: 1 }] },
      ],
      startTime: 1000,
      endTime: 9000,
      samples: [2, 3, 2, 2],
      timeDeltas: [1000, 1000, 1000, 1000],
    };
    const s = summarizeProfile(profile, 0, 10_000, 10, undefined);
    // Without the bundle's map every frame is the bundle's; with it, each is its module's.
    expect(s.self.some((r) => r.where.startsWith('src/'))).toBe(false);
    const mapped = summarizeProfile(profile, 0, 10_000, 10, ownerIn({ url, moduleAt }));
    expect(mapped.self.map((r) => [r.fn, r.where, r.ms])).toEqual([
      ['rankSignals', 'src/pipeline/retriever/rank.ts', 3],
      ['count', 'src/tokenizer.ts', 1],
    ]);
    const lines = hotLines(profile, { url, text }, 10);
    expect(lines).toEqual([
      { module: 'src/pipeline/retriever/rank.ts', code: 'for (const a of c) s.add(a | b);', ticks: 3, share: 0.75 },
      { module: 'src/tokenizer.ts', code: 'return t.length;', ticks: 1, share: 0.25 },
    ]);
    // A pipe in the code does not break the table row.
    expect(formatLines(lines)).toContain(
      '`for (const a of c) s.add(a \\| b);` | src/pipeline/retriever/rank.ts | 3 | 75.0 % |',
    );
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
      [
        '--data',
        data,
        '--tools',
        'none',
        '--sizes',
        '200',
        '--queries',
        '3',
        '--warm',
        '5',
        '--batch1',
        '5',
        '--json',
      ].concat([out, '--cases', 'product,recency,bm25']),
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
    const common = [
      'write_turns_per_s',
      'query_p50_ms',
      'query_p95_ms',
      'query_p99_ms',
      'query_warm_p95_ms',
      'peak_rss_mb',
    ];
    for (const c of ['product', 'recency', 'bm25']) for (const m of common) expect(of(c)).toContain(m);
    for (const m of ['compress_200_ms', 'rebuild_200_ms', 'write_batch1_turns_per_s', 'tokenizer_tokens_per_s'])
      expect(of('product')).toContain(m);
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

describe('the user case at 5 sessions × 10 turns', () => {
  let dir: string;
  let json: any;
  let stdout = '';
  let stderr = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'bench-user-test-'));
    const data = await writeLocomoFolder(dir, conversation);
    const out = path.join(dir, 'out', 'bench.json');
    const args = ['--data', data, '--tools', 'none', '--cases', 'user', '--user', '5x10', '--queries', '3'];
    args.push('--json', out);
    await cli(args, {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
    });
    json = JSON.parse(await readFile(out, 'utf8'));
  }, 240_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const value = (c: string, metric: string) =>
    json.results.find((r: Result) => r.case === c && r.metric === metric)?.value;

  it('reports new-session QueryContext for the product beside BM25 over the same 50 turns', () => {
    expect(() => assertBenchJson(json)).not.toThrow();
    expect(new Set(json.results.map((r: Result) => r.turns))).toEqual(new Set([50]));
    const user = Object.keys(metrics).filter((m) => m.startsWith('user_'));
    for (const c of ['product', 'bm25']) {
      const got = json.results.filter((r: Result) => r.case === c).map((r: Result) => r.metric);
      expect(got.sort()).toEqual([...user].sort());
      const costs = ['user_write_turns_per_s', 'user_build_s', 'user_query_p50_ms', 'user_query_p95_ms'];
      costs.push('user_peak_rss_mb');
      for (const m of costs) expect(value(c, m)).toBeGreaterThan(0);
      expect(value(c, 'user_query_p95_ms')).toBeGreaterThanOrEqual(value(c, 'user_query_p50_ms'));
    }
    // BM25 packs turns of the user's sessions into every answer (the synthesised tool results name Nora and Ivo).
    expect(value('bm25', 'user_recalled_turns')).toBeGreaterThan(0);
    expect(value('bm25', 'user_recalled_turns')).toBeLessThanOrEqual(50);
    expect(value('bm25', 'user_recall_answers_pct')).toBeGreaterThan(0);
    expect(value('product', 'user_recalled_turns')).toBeLessThanOrEqual(50);
    expect(json.meta.notes.join('\n')).toContain('user case: 5 sessions × 10 turns');
  });

  it('recalls the other sessions once QueryContext can draw on them', () => {
    const scoped = 'history_scope' in (ContextRequest as unknown as { shape: Record<string, unknown> }).shape;
    if (scoped) expect(value('product', 'user_recall_answers_pct')).toBeGreaterThan(0);
    else expect(value('product', 'user_recalled_turns')).toBe(0); // a session alone holds only its own question
  });

  it('prints its rows and its progress', () => {
    expect(stdout).toContain('| 50 | user_query_p95_ms | ms |');
    expect(stdout).toContain('| 50 | user_recalled_turns | turns |');
    expect(stdout).not.toContain('| 50 | query_p95_ms |');
    expect(stderr).toContain('[bench] user-product: starting');
    expect(stderr).toContain('[bench] user-bm25: starting');
    expect(stderr).toMatch(/product user 5×10: 5 sessions, \d+ turns built/);
    expect(stderr).toMatch(/product user 5×10: new-session query p50 .* turns of the user's other sessions/);
  });
});
