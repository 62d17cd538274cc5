// Query traces are written in batches on Node: every trace is readable as soon as its answer is out, more traces
// than one batch holds are all written, a deleted session's waiting traces are not, and closing writes what waits.
import { sql } from 'drizzle-orm';
import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/adapters/store/postgres.js';
import { backends, harness, tenant, turns3, type Harness } from '../helpers.js';

async function traceCount(h: Pick<Harness, 'deps'>, tenantId: string, sessionId?: string) {
  const [row] = await h.deps.store.query<{ n: number }>(
    sql`SELECT count(*)::int AS n FROM traces WHERE tenant_id = ${tenantId} AND (${sessionId ?? null}::text IS NULL OR session_id = ${sessionId ?? null}::text)`,
  );
  return Number(row!.n);
}

describe.each(backends)('trace batches on $name', ({ open }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(open);
  });
  afterAll(async () => h.close());

  it('every trace is readable right after its answer, and all of many are written', async () => {
    const c = await tenant(h);
    expect((await c.call('POST', '/v1/sessions/b1/turns', { turns: turns3 })).status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 70; i++) {
      const r = await c.call('POST', '/v1/sessions/b1/context', { query: `budget ${i}`, budget_tokens: 300 });
      expect(r.status).toBe(200);
      ids.push(r.json.request_id);
      if (i % 20 === 0)
        expect((await c.call('GET', `/v1/traces/${r.json.request_id}`)).json.request_id).toBe(r.json.request_id);
    }
    await h.deps.traceBatch!.flush();
    expect(await traceCount(h, c.tenantId)).toBe(70);
    const last = await c.call('GET', `/v1/traces/${ids.at(-1)}`);
    expect(last.status).toBe(200);
    expect(last.json.steps.map((s: any) => s.type)).toContain('assemble');
  });

  it('a session deleted while its traces wait leaves none behind', async () => {
    const c = await tenant(h);
    expect((await c.call('POST', '/v1/sessions/b2/turns', { turns: turns3 })).status).toBe(201);
    for (let i = 0; i < 3; i++)
      expect(
        (await c.call('POST', '/v1/sessions/b2/context', { query: `Alfama ${i}`, budget_tokens: 300 })).status,
      ).toBe(200);
    expect((await c.call('DELETE', '/v1/sessions/b2')).status).toBe(204);
    await h.deps.traceBatch!.flush();
    expect(await traceCount(h, c.tenantId, 'b2')).toBe(0);
  });
});

describe('trace batches when the process stops', () => {
  it('closing writes the traces still waiting', async () => {
    const url = inject('postgresUrl');
    const h = await harness(() => openPostgres(url, { migrate: false, max: 2 }));
    const c = await tenant(h);
    expect((await c.call('POST', '/v1/sessions/b3/turns', { turns: turns3 })).status).toBe(201);
    const r = await c.call('POST', '/v1/sessions/b3/context', { query: 'Where to stay?', budget_tokens: 300 });
    expect(r.status).toBe(200);
    await h.close();
    const other = await openPostgres(url, { migrate: false, max: 1 });
    try {
      const [row] = await other.query<{ n: number }>(
        sql`SELECT count(*)::int AS n FROM traces WHERE tenant_id = ${c.tenantId} AND request_id = ${r.json.request_id}`,
      );
      expect(Number(row!.n)).toBe(1);
    } finally {
      await other.close();
    }
  });
});
