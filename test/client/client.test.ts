// The typed client against the real app on PGlite: every method once, and errors surfacing the API's code.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { ContextApiError, ContextClient, type FetchLike } from '../../src/client/index.js';
import { listen } from '../browser.js';
import { harness, tenant, turns3, type Harness } from '../helpers.js';

type Turn = { role: 'user' | 'assistant'; content: string };
const trip = turns3 as Turn[];

async function rejection(p: Promise<unknown>): Promise<ContextApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ContextApiError);
  return err as ContextApiError;
}

describe('ContextClient', () => {
  let h: Harness;
  let client: ContextClient;
  beforeAll(async () => {
    h = await harness(() => openPglite(), { CONTEXT_ADMIN_KEY: 'admin-key-for-tests' });
    const t = await tenant(h);
    client = new ContextClient({
      baseUrl: 'http://engine.test',
      apiKey: t.key,
      fetch: (url, init) => h.app.request(url, init),
    });
  });
  afterAll(async () => h.close());

  it('registers an agent and a task flow, serves a precomputed model call, traces it and takes an evaluation', async () => {
    expect((await client.registerAgent({ agent_id: 'flow-agent', name: 'Flow' })).created).toBe(true);
    const flow = await client.taskFlows.put('flow-agent', 'main', {
      model_calls: [{ id: 'first', model: 'gpt-4o-mini', budget_tokens: 400 }],
    });
    expect(flow.model_calls[0]).toMatchObject({ id: 'first', template: 'default', reserve_tokens: 0 });
    expect((await client.taskFlows.list('flow-agent')).task_flows.map((f) => f.flow_id)).toEqual(['main']);
    await client.writeTurns('flow-s', { turns: trip, agent_id: 'flow-agent' });
    await h.deps.queue.drain();
    const ctx = await client.queryContext('flow-s', { model_call_id: 'first' });
    expect(ctx.source).toBe('precomputed');
    expect(
      (await client.traces.appendSteps(ctx.request_id, { steps: [{ type: 'reasoning_step', content: 'ok' }] }))
        .step_count,
    ).toBeGreaterThan(1);
    expect((await client.traces.get(ctx.request_id)).steps.at(-1)).toMatchObject({
      actor: 'agent',
      type: 'reasoning_step',
    });
    expect((await client.recordEvaluation({ request_id: ctx.request_id, overall_score: 0.7 })).variant).toBe('default');
    expect((await client.strategyReport({ agent_id: 'flow-agent' })).variants[0]).toMatchObject({ evaluations: 1 });
    await client.taskFlows.delete('flow-agent', 'main');
    expect((await rejection(client.queryContext('flow-s', { model_call_id: 'first' }))).code).toBe('NOT_FOUND');
  });

  it('writes turns, replays an idempotent retry, and pages through them', async () => {
    const first = await client.writeTurns(
      's1',
      { turns: trip, user_id: 'u-ada', agent_id: 'travel' },
      { idempotencyKey: 'batch-1' },
    );
    expect(first.session_created).toBe(true);
    expect(first.replayed).toBe(false);
    expect(first.turns.map((t) => t.sequence)).toEqual([1, 2, 3]);
    const again = await client.writeTurns(
      's1',
      { turns: trip, user_id: 'u-ada', agent_id: 'travel' },
      { idempotencyKey: 'batch-1' },
    );
    expect(again.replayed).toBe(true);
    expect(again.turns.map((t) => t.id)).toEqual(first.turns.map((t) => t.id));

    const page = await client.listTurns('s1', { limit: 2 });
    expect(page.turns.map((t) => t.content)).toEqual(trip.slice(0, 2).map((t) => t.content));
    expect(page.next_cursor).toBe('2');
    const all = [];
    for await (const t of client.allTurns('s1', { pageSize: 1 })) all.push(t.sequence);
    expect(all).toEqual([1, 2, 3]);

    const session = await client.getSession('s1');
    expect(session).toMatchObject({ session_id: 's1', user_id: 'u-ada', agent_id: 'travel', turn_count: 3 });
  });

  it('queries context, searches history, rebuilds and lists compactions', async () => {
    await client.writeTurns('s2', { turns: trip });
    const answer = await client.queryContext('s2', { query: 'Where does Ada want to stay?', budget_tokens: 500 });
    expect(answer.token_count).toBeLessThanOrEqual(500);
    expect(answer.rendered.text).toContain('Alfama');
    expect(answer.envelope.budget_report.sections.map((s) => s.section)).toContain('recent_turns');

    const found = await client.searchHistory('s2', { query: 'budget night' });
    expect(found.results[0]?.content).toContain('120 euros');

    const job = await client.rebuild('s2', { strategy: 'truncate', max_tokens: 200 });
    expect(job).toMatchObject({ session_id: 's2', status: 'queued', strategy: 'truncate', max_tokens: 200 });
    await h.deps.queue.drain();
    const { compactions } = await client.listCompactions('s2');
    expect(compactions[0]).toMatchObject({ reason: 'rebuild' });
  });

  it('registers a tool chain and stores a result', async () => {
    await client.writeTurns('s3', { turns: trip });
    const chain = await client.registerToolChain('s3', {
      chain_id: 'c1',
      steps: [{ step_id: 'call_1', tool_name: 'search_flights', arguments: { to: 'LIS' } }],
    });
    expect(chain.steps[0]?.status).toBe('pending');
    const done = await client.updateToolResult('s3', 'c1', 'call_1', { status: 'ok', result: '{"flight":"TP1351"}' });
    expect(done.steps[0]).toMatchObject({ status: 'ok', result: '{"flight":"TP1351"}' });
  });

  it('creates, lists, searches and deletes memories, and reads the agent context', async () => {
    await client.writeTurns('s-guide', { turns: trip, agent_id: 'guide' });
    const m = await client.memories.create({
      scope: 'agent',
      agent_id: 'guide',
      content: 'Lisbon trams need a Viva Viagem card.',
    });
    expect(m.kind).toBe('fact');
    await client.memories.create({
      scope: 'user',
      user_id: 'u-ada',
      kind: 'preference',
      content: 'Prefers apartments near Alfama.',
    });
    const listed = await client.memories.list({ user_id: 'u-ada', origin: 'written' });
    expect(listed.memories.map((x) => x.content)).toEqual(['Prefers apartments near Alfama.']);
    const found = await client.memories.search({ query: 'tram card' });
    expect(found.memories[0]?.id).toBe(m.id);
    const agent = await client.getAgentContext('guide');
    expect(agent.memories.map((x) => x.id)).toContain(m.id);
    await client.memories.delete(m.id);
    expect((await client.memories.search({ query: 'tram card' })).memories).toEqual([]);
  });

  it('publishes events', async () => {
    const out = await client.publishEvent({
      type: 'conversation.new',
      session_id: 's4',
      event_id: 'e1',
      turns: [{ role: 'user', content: 'Hello' }],
    });
    expect(out).toMatchObject({ event_id: 'e1', type: 'conversation.new', status: 'processed' });
    expect((await client.getSession('s4')).turn_count).toBe(1);
  });

  it('deletes a session, a user and an agent', async () => {
    await client.writeTurns('d1', { turns: trip, user_id: 'u-del', agent_id: 'a-del' });
    await client.writeTurns('d2', { turns: trip, user_id: 'u-del2' });
    await client.writeTurns('d3', { turns: trip, agent_id: 'a-del3' });
    await client.deleteSession('d1');
    await client.deleteUser('u-del2');
    await client.deleteAgent('a-del3');
    for (const id of ['d1', 'd2', 'd3']) expect((await rejection(client.getSession(id))).status).toBe(404);
  });

  it('surfaces the API error code, message and request id', async () => {
    const missing = await rejection(client.queryContext('no-such-session', { budget_tokens: 100 }));
    expect(missing).toMatchObject({ status: 404, code: 'NOT_FOUND', name: 'ContextApiError' });
    expect(missing.message).toContain('no-such-session');
    expect(missing.requestId).toMatch(/^[0-9a-f-]{36}$/);

    const bad = await rejection(client.queryContext('s1', { budget_tokens: -5 }));
    expect(bad).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(bad.message).toContain('budget_tokens');
    expect((bad.details as { issues: { path: string }[] }).issues[0]?.path).toBe('budget_tokens');

    const conflict = await rejection(
      client.writeTurns('s1', { turns: [{ role: 'user', content: 'different' }] }, { idempotencyKey: 'batch-1' }),
    );
    expect(conflict).toMatchObject({ status: 409, code: 'CONFLICT' });

    const stranger = new ContextClient({
      baseUrl: 'http://engine.test',
      apiKey: 'ctx_wrong',
      fetch: (url, init) => h.app.request(url, init),
    });
    expect(await rejection(stranger.getSession('s1'))).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
  });

  it('manages keys with the admin key', async () => {
    const admin = new ContextClient({
      baseUrl: 'http://engine.test',
      apiKey: 'admin-key-for-tests',
      fetch: (url, init) => h.app.request(url, init),
    });
    const created = await admin.admin.createKey({ tenant: 'acme' });
    expect(created.scopes).toEqual(['read', 'write']);
    const acme = new ContextClient({
      baseUrl: 'http://engine.test',
      apiKey: created.key,
      fetch: (url, init) => h.app.request(url, init),
    });
    await acme.writeTurns('a1', { turns: trip });
    expect((await admin.admin.listKeys({ tenant: 'acme' })).keys.map((k) => k.id)).toContain(created.id);
    await admin.admin.revokeKey(created.id);
    expect(await rejection(acme.getSession('a1'))).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('talks to a real server over the network with the global fetch', async () => {
    const web = await listen(h.app.fetch);
    try {
      const t = await tenant(h);
      const net = new ContextClient({ baseUrl: `${web.url}/`, apiKey: t.key });
      expect(await net.health()).toEqual({ status: 'ok', database: 'pglite' });
      await net.writeTurns('n1', { turns: trip });
      expect((await net.queryContext('n1', { budget_tokens: 300 })).rendered.text).toContain('Lisbon');
      expect(await rejection(net.deleteSession('nope'))).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    } finally {
      await web.close();
    }
  });

  it('maps an answer without an error body to a code by status, after retrying it', async () => {
    let calls = 0;
    const proxy = new ContextClient({
      baseUrl: 'http://engine.test',
      apiKey: 'k',
      retryDelayMs: 1,
      fetch: async () => {
        calls++;
        return new Response('<html>Bad gateway</html>', { status: 502, headers: { 'x-request-id': 'edge-1' } });
      },
    });
    expect(await rejection(proxy.getSession('s1'))).toMatchObject({
      status: 502,
      code: 'UNAVAILABLE',
      requestId: 'edge-1',
    });
    expect(calls).toBe(3);
  });

  describe('retries', () => {
    const through = (wrap: (url: string, init: RequestInit, n: number) => Response | Promise<Response> | undefined) => {
      let n = 0;
      return {
        calls: () => n,
        fetch: async (url: string, init: RequestInit) => wrap(url, init, ++n) ?? h.app.request(url, init),
      };
    };
    let key: string;
    beforeAll(async () => {
      key = (await tenant(h)).key;
    });

    it('waits as long as Retry-After says after a 429', async () => {
      const net = through((_u, _i, n) =>
        n === 2 ? new Response('{}', { status: 429, headers: { 'retry-after': '1' } }) : undefined,
      );
      const c = new ContextClient({ baseUrl: 'http://engine.test', apiKey: key, fetch: net.fetch, retryDelayMs: 1 });
      await c.writeTurns('r1', { turns: trip });
      const started = Date.now();
      const ctx = await c.queryContext('r1', { budget_tokens: 300 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(ctx.rendered.text).toContain('Lisbon');
      expect(net.calls()).toBe(3);
    });

    it('repeats a write whose answer was lost under its Idempotency-Key, and it is stored once', async () => {
      const keys: string[] = [];
      const net = through((url, init, n) => {
        keys.push(new Headers(init.headers).get('idempotency-key') ?? '');
        if (n !== 1) return undefined;
        // The write reaches the service, but a gateway answers 503 instead of its response.
        return Promise.resolve(h.app.request(url, init)).then(() => new Response('', { status: 503 }));
      });
      const c = new ContextClient({ baseUrl: 'http://engine.test', apiKey: key, fetch: net.fetch, retryDelayMs: 1 });
      const written = await c.writeTurns('r2', { turns: trip });
      expect(written.replayed).toBe(true);
      expect(keys).toHaveLength(2);
      expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(keys[1]).toBe(keys[0]);
      expect((await c.listTurns('r2')).turns.map((t) => t.sequence)).toEqual([1, 2, 3]);
    });

    it('does not repeat a write without an Idempotency-Key, nor when retries are off', async () => {
      const net = through(() => new Response('', { status: 503 }));
      const c = new ContextClient({ baseUrl: 'http://engine.test', apiKey: key, fetch: net.fetch, retryDelayMs: 1 });
      expect((await rejection(c.memories.create({ content: 'x', scope: 'user', user_id: 'u' }))).status).toBe(503);
      expect(net.calls()).toBe(1);
      const once = new ContextClient({ baseUrl: 'http://engine.test', apiKey: key, fetch: net.fetch, maxRetries: 0 });
      expect((await rejection(once.writeTurns('r3', { turns: trip }))).status).toBe(503);
      expect(net.calls()).toBe(2);
    });

    it('gives up on an attempt after timeoutMs and tries again', async () => {
      let attempts = 0;
      const hang: FetchLike = (_url, init) =>
        new Promise((_resolve, reject) => {
          attempts++;
          init.signal?.addEventListener('abort', () => reject(init.signal?.reason));
        });
      const c = new ContextClient({
        baseUrl: 'http://engine.test',
        apiKey: key,
        fetch: hang,
        timeoutMs: 50,
        maxRetries: 1,
      });
      const err = await c.getSession('r1').catch((e: unknown) => e);
      expect((err as Error).name).toBe('TimeoutError');
      expect(attempts).toBe(2);
    });
  });

  it('imports nothing outside its folder: its types are generated and current', async () => {
    const source = readFileSync(path.resolve(import.meta.dirname, '../../src/client/index.ts'), 'utf8');
    const imports = [...source.matchAll(/^import( type)? [\s\S]*? from '([^']+)';$/gm)];
    expect(imports.length).toBeGreaterThan(0);
    for (const [, type, from] of imports) expect([type, from]).toEqual([' type', './api-types.js']);
    const { clientTypes } = await import('../../scripts/build/client-types.js');
    const generated = readFileSync(path.resolve(import.meta.dirname, '../../src/client/api-types.ts'), 'utf8');
    expect(generated).toBe(await clientTypes());
  });
});
