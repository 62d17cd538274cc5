// The τ-bench step protocol on a small shop-agent trajectory (not the airline data): which steps are scored, which
// values they require, and the eval command end to end with --suite tau.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { histogramMean } from '../../scripts/eval/harness.js';
import { runEvalCli } from './run-cli.js';
import { loadTrajectories, parseMessages, requiredValues, stringLeaves, tauCase } from '../../scripts/eval/tau.js';

const call = (id: string, name: string, args: unknown) => ({
  id,
  type: 'function',
  function: { name, arguments: JSON.stringify(args) },
});
const traj = [
  { role: 'system', content: 'You are a shop assistant. Policy text that must not be written.' },
  { role: 'user', content: 'Hi, I want to return the kettle from my last order. My email is kim@example.org.' },
  { role: 'assistant', content: null, tool_calls: [call('c1', 'find_customer', { email: 'kim@example.org' })] },
  {
    role: 'tool',
    tool_call_id: 'c1',
    name: 'find_customer',
    content: JSON.stringify({ customer_id: 'cus_77120', orders: ['ord-5521', 'ord-5530'] }),
  },
  { role: 'assistant', content: null, tool_calls: [call('c2', 'get_order', { order_id: 'ord-5530' })] },
  {
    role: 'tool',
    tool_call_id: 'c2',
    name: 'get_order',
    content: JSON.stringify({
      order_id: 'ord-5530',
      status: 'delivered',
      items: [{ sku: 'KTL-204', title: 'Steel kettle', price: 39 }],
    }),
  },
  {
    role: 'assistant',
    content: `Order ord-5530 has a Steel kettle (KTL-204). ${'Returns are free within thirty days of delivery and the refund goes back to the original payment method once the parcel is scanned. '.repeat(4)}Shall I start the return?`,
  },
  {
    role: 'user',
    content:
      'Before that: how long does a refund usually take to show up on a card statement, and do I need the original box? '.repeat(
        3,
      ),
  },
  {
    role: 'assistant',
    content:
      'Refunds usually show within five to ten working days, and any sturdy box will do as long as the item is protected. '.repeat(
        3,
      ),
  },
  { role: 'user', content: 'Yes please, refund to my card ending 4242.' },
  {
    role: 'assistant',
    content: '',
    tool_calls: [call('c3', 'start_return', { order_id: 'ord-5530', sku: 'KTL-204', card: '4242', reason: 'no' })],
  },
  { role: 'tool', tool_call_id: 'c3', name: 'start_return', content: 'Return RMA-88101 created for ord-5530.' },
  { role: 'assistant', content: 'Done: return RMA-88101.' },
];

describe('histogramMean', () => {
  it('reads sum over count of a histogram from Prometheus text', () => {
    const text = 'x_bucket{le="1"} 4\nx_sum 1.5\nx_count 4\ny_sum 3\ny_count 0';
    expect(histogramMean(text, 'x')).toBe(0.375);
    expect(histogramMean(text, 'y')).toBeNull();
    expect(histogramMean(text, 'z')).toBeNull();
  });
});

describe('τ-bench step protocol', () => {
  it('takes string leaves of nested arguments', () => {
    expect(stringLeaves({ a: 'x1', b: [{ c: 'y2' }, 3, null], d: { e: 'z' } })).toEqual(['x1', 'y2', 'z']);
  });

  it('requires values with a digit, 4+ characters, seen in a tool result and never said by the user', () => {
    const calls = [
      {
        id: 'c',
        name: 'f',
        arguments: JSON.stringify({ a: 'ord-5530', b: '4242', c: 'ab1', d: 'nodigit', e: ['cus_77120', 'ord-5530'] }),
      },
    ];
    expect(requiredValues(calls, ['{"id":"ord-5530","x":"cus_77120","c":"ab1","b":"4242"}'], ['card 4242'])).toEqual([
      'ord-5530',
      'cus_77120',
    ]);
  });

  it('probes before each scored step with the latest user message, having written everything before it', () => {
    const messages = parseMessages(traj, 'shop');
    expect(messages).toHaveLength(12);
    const c = tauCase(messages, 'shop');
    const kinds = c.steps.map((s) =>
      'probe' in s ? `probe:${s.probe.expected.join(',')}` : `write:${s.write.length}`,
    );
    // c1 needs nothing from tools (the email came from the user); c2 needs ord-5530; c3 needs ord-5530 and KTL-204.
    expect(kinds).toEqual(['write:3', 'probe:ord-5530', 'write:6', 'probe:ord-5530,KTL-204', 'write:3']);
    const probes = c.steps.flatMap((s) => ('probe' in s ? [s.probe] : []));
    expect(probes[0]!.query).toContain('return the kettle');
    expect(probes[1]!.query).toBe('Yes please, refund to my card ending 4242.');
    const written = c.steps.flatMap((s) => ('write' in s ? s.write.map((t) => t.write) : []));
    expect(written.some((w) => w.content.includes('Policy text'))).toBe(false);
    expect(written[1]).toMatchObject({
      role: 'assistant',
      content: '',
      tool_calls: [{ id: 'c1', name: 'find_customer' }],
    });
    expect(written[2]).toMatchObject({ role: 'tool', tool_call_id: 'c1', name: 'find_customer' });
  });
});

describe('trajectories of other runs', () => {
  const odd = [
    { role: 'user', content: [{ type: 'text', text: 'Order ord-9911 please.' }, { type: 'image_url' }] },
    { role: 'assistant', content: null, tool_calls: [{ id: 'k1', function: { arguments: '{"q":"ord-9911"}' } }] },
    { role: 'tool', tool_call_id: 'k1', content: '' },
    { role: 'user', content: '' },
    { role: 'assistant', content: 'Done.' },
  ];

  it('reads content parts, names an unnamed call and keeps an empty tool result', () => {
    const m = parseMessages(odd, 'odd');
    expect(m[0]).toEqual({ role: 'user', content: 'Order ord-9911 please.' });
    expect(m[1]!.toolCalls).toEqual([{ id: 'k1', name: 'tool', arguments: '{"q":"ord-9911"}' }]);
    const written = tauCase(m, 'odd').steps.flatMap((s) => ('write' in s ? s.write.map((t) => t.write) : []));
    // The empty user message says nothing and is skipped; the tool's empty result is a turn.
    expect(written.map((w) => [w.role, w.content])).toEqual([
      ['user', 'Order ord-9911 please.'],
      ['assistant', ''],
      ['tool', ''],
      ['assistant', 'Done.'],
    ]);
  });

  it('gives a trajectory whose task and trial repeat a session of its own', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tau-names-'));
    try {
      const file = path.join(dir, 't.json');
      await writeFile(
        file,
        JSON.stringify([{ task_id: 1, trial: 0, traj: odd }, { task_id: 1, trial: 0, traj: odd }, { traj: odd }]),
      );
      expect((await loadTrajectories(file)).map((c) => c.sessionId)).toEqual([
        'tau-task1-trial0',
        'tau-task1-trial0-2',
        'tau-traj3',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('eval command with --suite tau', () => {
  let dir: string;
  let json: any;
  let stdout = '';
  let stderr = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tau-eval-'));
    const file = path.join(dir, 'trajectories.json');
    await writeFile(
      file,
      JSON.stringify([
        { task_id: 7, trial: 0, traj },
        { task_id: 7, trial: 1, traj },
      ]),
    );
    const out = path.join(dir, 'result.json');
    ({ stdout, stderr, json } = await runEvalCli(['--suite', 'tau', '--data', file, '--budget', '200,2000'], out));
  }, 180_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports value retention per method and budget in the LoCoMo shape', () => {
    expect(json.results.map((r: any) => `${r.method}@${r.budget}`)).toEqual([
      'product@200',
      'recency@200',
      'bm25@200',
      'product@2000',
      'recency@2000',
      'bm25@2000',
    ]);
    for (const r of json.results) {
      expect(Object.keys(r).sort()).toEqual([
        'all_evidence',
        'budget',
        'method',
        'over_budget',
        'p50_ms',
        'p95_ms',
        'questions',
        'value_retention',
      ]);
      expect(r.questions).toBe(4);
      expect(r.over_budget).toBe(0);
    }
    expect(json.meta).toMatchObject({ suite: 'tau', questions: 4, expected: 6, turns: 24, dead_letter_jobs: 0 });
    expect(json.meta.tool_result_compression_ratio).toBeGreaterThan(0);
    expect(json.meta.tool_result_compression_ratio).toBeLessThanOrEqual(1);
    expect(stdout).toMatch(
      /tool_result_compression_ratio \(tokens shown \/ stored, mean over tool results placed\): 0?\.?\d/,
    );
  });

  it('keeps every required value when the whole trajectory fits', () => {
    for (const method of ['product', 'recency']) {
      expect(json.results.find((r: any) => r.method === method && r.budget === 2000)).toMatchObject({
        value_retention: 1,
        all_evidence: 1,
      });
    }
    expect(stdout).toMatch(/\| product \| all +\| +4 \| +100\.0 %/);
  });

  it('keeps the tool values at a small budget where the newest messages crowd them out', () => {
    const at = (method: string) => json.results.find((r: any) => r.method === method && r.budget === 200);
    expect(at('product').value_retention).toBe(1);
    expect(at('recency').value_retention).toBeLessThan(1);
    expect(stdout).toContain('2 trajectories, 24 messages, 4 scored steps, 6 required values');
    expect(stderr).toContain('trajectory 2/2 task7-trial1');
  });
});
