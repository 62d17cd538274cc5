// Request ids are made by the service, never taken from X-Request-Id (a reused one would merge traces); a valid caller
// id is kept for correlation only: echoed as X-Client-Request-Id, logged and noted in the trace.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { createLogger } from '../../src/logger.js';
import { harness, tenant, turns3, type Client, type Harness } from '../helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('request ids', () => {
  let h: Harness;
  let t: Client;
  const lines: string[] = [];

  beforeAll(async () => {
    h = await harness(() => openPglite(), {}, { logger: createLogger('info', {}, (line) => lines.push(line)) });
    t = await tenant(h);
    for (const s of ['rid-a', 'rid-b'])
      expect((await t.call('POST', `/v1/sessions/${s}/turns`, { turns: turns3 })).status).toBe(201);
  });
  afterAll(async () => h.close());

  const query = (session: string, clientId: string) =>
    t.call(
      'POST',
      `/v1/sessions/${session}/context`,
      { query: 'Where to stay?', budget_tokens: 300 },
      {
        'x-request-id': clientId,
      },
    );
  const resolveStep = (trace: { steps: { type: string; data: Record<string, unknown> }[] }) =>
    trace.steps.find((s) => s.type === 'resolve')!;

  it('two queries with the same X-Request-Id get two traces; an evaluation credits only its own', async () => {
    const first = await query('rid-a', 'client-7');
    const second = await query('rid-b', 'client-7');
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    const [a, b] = [first.json.request_id as string, second.json.request_id as string];
    expect(a).toMatch(UUID);
    expect(b).toMatch(UUID);
    expect(a).not.toBe(b);
    for (const [res, id] of [
      [first, a],
      [second, b],
    ] as const) {
      expect(res.headers.get('x-request-id')).toBe(id);
      expect(res.headers.get('x-client-request-id')).toBe('client-7');
    }

    for (const [id, session] of [
      [a, 'rid-a'],
      [b, 'rid-b'],
    ]) {
      const trace = await t.call('GET', `/v1/traces/${id}`);
      expect(trace.status).toBe(200);
      expect(trace.json).toMatchObject({ request_id: id, session_id: session });
      expect(resolveStep(trace.json).data.client_request_id).toBe('client-7');
    }
    // The caller's id names no trace.
    expect((await t.call('GET', '/v1/traces/client-7')).status).toBe(404);

    const judged = await t.call('POST', '/v1/evaluations', { request_id: b, overall_score: 0.9 });
    expect(judged.status).toBe(201);
    expect(judged.json).toMatchObject({ request_id: b, session_id: 'rid-b' });
    const rows = await h.deps.store.query<{ request_id: string; session_id: string }>(
      sql`SELECT request_id, session_id FROM evaluations WHERE tenant_id = ${t.tenantId}`,
    );
    expect(rows).toEqual([{ request_id: b, session_id: 'rid-b' }]);
  });

  it('logs the caller id next to the service id', async () => {
    const from = lines.length;
    const r = await query('rid-a', 'corr-42');
    const logged = lines
      .slice(from)
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'request');
    expect(logged).toMatchObject({ request_id: r.json.request_id, client_request_id: 'corr-42', status: 200 });
  });

  it('drops an X-Request-Id that breaks the id rule: not echoed, not logged, not in the trace', async () => {
    for (const bad of ['has space', 'x'.repeat(129), '..', 'semi;colon', 'a/b']) {
      const from = lines.length;
      const r = await query('rid-a', bad);
      expect(r.status).toBe(200);
      expect(r.json.request_id).toMatch(UUID);
      expect(r.headers.get('x-request-id')).toBe(r.json.request_id);
      expect(r.headers.get('x-client-request-id')).toBeNull();
      const logged = lines
        .slice(from)
        .map((l) => JSON.parse(l))
        .find((l) => l.msg === 'request');
      expect(logged.request_id).toBe(r.json.request_id);
      expect(logged).not.toHaveProperty('client_request_id');
      const trace = await t.call('GET', `/v1/traces/${r.json.request_id}`);
      expect(resolveStep(trace.json).data).not.toHaveProperty('client_request_id');
    }
  });

  it('refusals carry both headers too, and the error body names the service id', async () => {
    const res = await h.app.request('/v1/sessions/rid-a', {
      headers: { authorization: 'Bearer nope-nope', 'x-request-id': 'corr-9' },
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { request_id: string } };
    expect(body.error.request_id).toMatch(UUID);
    expect(res.headers.get('x-request-id')).toBe(body.error.request_id);
    expect(res.headers.get('x-client-request-id')).toBe('corr-9');
  });
});
