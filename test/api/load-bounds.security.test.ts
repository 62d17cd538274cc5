// One tenant cannot tie up the service: flows, model calls and recipe budgets are bounded at registration, a precompute
// job does a bounded share, and neither a large write nor a precompute stalls /healthz.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { defaults, limits } from '../../src/config/tuning.js';
import { backends, harness, snapshot, tenant, type Client, type Harness } from '../helpers.js';

const call = (id: string, budget = 500) => ({ id, model: 'gpt-4o-mini', budget_tokens: budget });

describe.each(backends)('registration limits on $name', ({ open }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(open);
  });
  afterAll(async () => h.close());

  const refused = async (c: Client, path: string, body: unknown, limit: string) => {
    const before = await snapshot(h.deps, c.tenantId);
    const r = await c.call('PUT', path, body);
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('BAD_REQUEST');
    expect(r.json.error.message).toContain(`limits.${limit}`);
    expect(await snapshot(h.deps, c.tenantId)).toEqual(before);
  };

  it('refuses a flow past the flows an agent may declare; replacing one still works', async () => {
    const c = await tenant(h);
    expect((await c.call('POST', '/v1/agents', { agent_id: 'many' })).status).toBe(201);
    for (let f = 0; f < limits.flowsPerAgent; f++)
      expect((await c.call('PUT', `/v1/agents/many/task-flows/f${f}`, { model_calls: [call('a')] })).status).toBe(201);
    await refused(c, '/v1/agents/many/task-flows/one-more', { model_calls: [call('a')] }, 'flowsPerAgent');
    expect((await c.call('PUT', '/v1/agents/many/task-flows/f0', { model_calls: [call('b')] })).status).toBe(200);
    const flows = (await c.call('GET', '/v1/agents/many/task-flows')).json.task_flows;
    expect(flows).toHaveLength(limits.flowsPerAgent);
    expect(flows.find((f: any) => f.flow_id === 'f0').model_calls[0].id).toBe('b');
    // Room again once one is deleted.
    expect((await c.call('DELETE', '/v1/agents/many/task-flows/f1')).status).toBe(204);
    expect((await c.call('PUT', '/v1/agents/many/task-flows/one-more', { model_calls: [call('a')] })).status).toBe(201);
    // A missing agent is still a 404, not a limit.
    expect((await c.call('PUT', '/v1/agents/ghost/task-flows/x', { model_calls: [call('a')] })).status).toBe(404);
  });

  it('refuses a flow with too many model calls or a recipe over the budget limit', async () => {
    const c = await tenant(h);
    expect((await c.call('POST', '/v1/agents', { agent_id: 'big' })).status).toBe(201);
    const tooMany = Array.from({ length: limits.modelCallsPerFlow + 1 }, (_, i) => call(`c${i}`));
    await refused(c, '/v1/agents/big/task-flows/x', { model_calls: tooMany }, 'modelCallsPerFlow');
    const overBudget = [call('a', limits.modelCallBudgetTokens + 1)];
    await refused(c, '/v1/agents/big/task-flows/x', { model_calls: overBudget }, 'modelCallBudgetTokens');
    // At every limit at once: accepted.
    const top = limits.modelCallBudgetTokens;
    const most = Array.from({ length: limits.modelCallsPerFlow }, (_, i) => call(`c${i}`, top - i));
    expect((await c.call('PUT', '/v1/agents/big/task-flows/x', { model_calls: most })).status).toBe(201);
  });
});

describe('precompute bounds on PGlite', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(() => openPglite());
  });
  afterAll(async () => h.close());

  /** Each call's source once (asking assembles and caches it): precomputed or live. */
  const sources = async (c: Client, session: string, calls: { flow: string; id: string }[]) => {
    const out: string[] = [];
    for (const { flow, id } of calls) {
      const r = await c.call('POST', `/v1/sessions/${session}/context`, { model_call_id: id, flow_id: flow });
      expect(r.status).toBe(200);
      out.push(r.json.source);
    }
    return out;
  };

  it('precomputes at most the per-job number of model calls, in plan order; the rest are served live', async () => {
    const { maxModelCalls } = defaults.precompute;
    const c = await tenant(h);
    await c.call('POST', '/v1/agents', { agent_id: 'wide' });
    const perFlow = Math.min(limits.modelCallsPerFlow, maxModelCalls);
    const flowCount = Math.floor(maxModelCalls / perFlow) + 1;
    const calls: { flow: string; id: string }[] = [];
    for (let f = 0; f < flowCount; f++) {
      const ids = Array.from({ length: perFlow }, (_, i) => `c${i}`);
      // Distinct budgets: no two calls share a recipe, and so a cached answer.
      const model_calls = ids.map((id, i) => call(id, 300 + f * perFlow + i));
      expect((await c.call('PUT', `/v1/agents/wide/task-flows/f${f}`, { model_calls })).status).toBe(201);
      calls.push(...ids.map((id) => ({ flow: `f${f}`, id })));
    }
    expect(calls.length).toBeGreaterThan(maxModelCalls);
    const turns = [{ role: 'user', content: 'Plan a week in Porto.' }];
    expect((await c.call('POST', '/v1/sessions/w1/turns', { agent_id: 'wide', turns })).status).toBe(201);
    await h.deps.queue.drain();
    const expected = calls.map((_, i) => (i < maxModelCalls ? 'precomputed' : 'live'));
    expect(await sources(c, 'w1', calls)).toEqual(expected);
  });

  it('stops adding model calls at the per-job token budget; a smaller call that still fits is taken', async () => {
    const { maxBudgetTokens, maxModelCalls } = defaults.precompute;
    // Two large calls fit, a third does not, and a small one after it fits in what is left.
    const big = Math.min(limits.modelCallBudgetTokens, Math.floor(maxBudgetTokens / 2.5));
    const fitting = Math.floor(maxBudgetTokens / big);
    const small = Math.min(1_000, maxBudgetTokens - fitting * big);
    expect(small).toBeGreaterThan(0);
    expect(fitting + 2).toBeLessThanOrEqual(maxModelCalls);
    const c = await tenant(h);
    await c.call('POST', '/v1/agents', { agent_id: 'deep' });
    const ids = [...Array.from({ length: fitting + 1 }, (_, i) => `big${i}`), 'small'];
    const model_calls = ids.map((id, i) => call(id, id === 'small' ? small : big - i));
    expect((await c.call('PUT', '/v1/agents/deep/task-flows/f', { model_calls })).status).toBe(201);
    const turns = [{ role: 'user', content: 'Plan a week in Braga.' }];
    expect((await c.call('POST', '/v1/sessions/d1/turns', { agent_id: 'deep', turns })).status).toBe(201);
    await h.deps.queue.drain();
    const got = await sources(
      c,
      'd1',
      ids.map((id) => ({ flow: 'f', id })),
    );
    expect(got).toEqual([...Array(fitting).fill('precomputed'), 'live', 'precomputed']);
  });
});

/** Random lowercase words of about `word` letters: long words are the slowest text to count tokens of. */
function text(seed: number, chars: number, word: number): string {
  let s = seed;
  const next = () => (s = (s * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  let out = '';
  while (out.length < chars) out += next() < 1 / word ? ' ' : String.fromCharCode(97 + Math.floor(next() * 26));
  return out;
}

interface Stall<T> {
  worstMs: number;
  polls: number;
  result: T;
}

/**
 * Runs `work` while asking for /healthz every 20 ms, and gives the longest wait: from when a request was due (20 ms
 * after the previous answer) to its answer, so a blocked event loop that delays the asking counts in full.
 */
async function healthzStall<T>(h: Harness, work: () => Promise<T>): Promise<Stall<T>> {
  let done = false;
  let worstMs = 0;
  let polls = 0;
  const poller = (async () => {
    let due = performance.now();
    for (;;) {
      const r = await h.app.request('/healthz');
      expect(r.status).toBe(200);
      const now = performance.now();
      worstMs = Math.max(worstMs, now - due);
      polls += 1;
      if (done) return;
      due = now + 20;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const result = await work().finally(() => {
    done = true;
  });
  await poller;
  return { worstMs, polls, result };
}

// Generous against a loaded machine: without yielding these stalls last seconds. A write's bound is higher: a 2 MB
// body is decoded, checked and validated in one piece (tens of ms of CPU, several times that on a busy machine).
const STALL_BOUND_MS = 250;
const WRITE_STALL_BOUND_MS = 500;

describe('responsiveness while a precompute runs (PGlite: the database runs on the same thread)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(() => openPglite());
  });
  afterAll(async () => h.close());

  it('answers /healthz while the largest precompute an agent may ask for runs', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/agents', { agent_id: 'heavy' });
    // Every flow full of the largest recipes, each distinct (no two share a cached answer), weighted to long turns.
    for (let f = 0; f < limits.flowsPerAgent; f++) {
      const model_calls = Array.from({ length: limits.modelCallsPerFlow }, (_, i) => ({
        ...call(`c${i}`, limits.modelCallBudgetTokens - f * limits.modelCallsPerFlow - i),
        recent_turns: 100,
        section_weights: { recent_turns: 10 },
      }));
      expect((await c.call('PUT', `/v1/agents/heavy/task-flows/f${f}`, { model_calls })).status).toBe(201);
    }
    for (let b = 0; b < 3; b++) {
      const turns = Array.from({ length: 50 }, (_, i) => ({
        role: i % 2 ? 'assistant' : 'user',
        content: text(b * 50 + i + 1, 4_000, 6),
      }));
      expect((await c.call('POST', '/v1/sessions/h1/turns', { agent_id: 'heavy', turns })).status).toBe(201);
    }
    await h.deps.queue.drain();
    await c.call('POST', '/v1/sessions/h1/turns', { turns: [{ role: 'user', content: 'One more thing.' }] });
    const { worstMs, polls } = await healthzStall(h, () => h.deps.queue.drain());
    expect(polls).toBeGreaterThan(0);
    expect(worstMs, `longest /healthz wait: ${Math.round(worstMs)} ms`).toBeLessThan(STALL_BOUND_MS);
  }, 120_000);
});

describe('responsiveness while a large batch is written (PostgreSQL: the statement runs in the server)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(backends[1].open);
  });
  afterAll(async () => h.close());

  it('answers /healthz while a 2 MB batch of 500 long turns is counted and stored', async () => {
    const c = await tenant(h);
    // Words of about a thousand letters: over a second of token counting for the batch.
    const turns = Array.from({ length: limits.turnsPerBatch }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: text(i + 1, 4_000, 1_000),
    }));
    const body = JSON.stringify({ turns });
    expect(body.length).toBeGreaterThan(limits.bodyBytes * 0.95);
    expect(body.length).toBeLessThanOrEqual(limits.bodyBytes);
    const { worstMs, result } = await healthzStall(h, () => c.raw('POST', '/v1/sessions/big/turns', body));
    expect(result.status).toBe(201);
    expect(result.json.turns).toHaveLength(limits.turnsPerBatch);
    expect(worstMs, `longest /healthz wait: ${Math.round(worstMs)} ms`).toBeLessThan(WRITE_STALL_BOUND_MS);
    await h.deps.queue.drain();
  }, 120_000);
});
