import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/routes/index.js';
import { queryLexemes } from '../../src/pipeline/retriever/query-lexemes.js';
import { findSession } from '../../src/services/sessions.js';
import { backends, harness, tenant, turns3, type Client, type Harness } from '../helpers.js';

// On the embedded database a session row read while nothing else ran is reused until any statement runs: repeated
// cached QueryContexts read nothing, and no write, by any path, is ever answered with the row from before it.
describe('session rows on the embedded database', () => {
  let h: Harness;
  let c: Client;
  beforeAll(async () => {
    h = await harness(backends[0].open);
    c = await tenant(h);
  });
  afterAll(() => h.close());

  const count = () => h.deps.store.statementCount!();

  it('a repeated cached QueryContext runs no statement; a write between them is seen', async () => {
    await c.client.writeTurns('memo-a', { turns: turns3 });
    const body = { query: 'Lisbon', budget_tokens: 500 };
    const first = await c.call('POST', '/v1/sessions/memo-a/context', body);
    await c.call('POST', '/v1/sessions/memo-a/context', body);
    await h.deps.queue.drain();
    // Writes the traces of those answers: the next answer reads the session once, the ones after it nothing at all.
    await h.deps.traceBatch?.flush();
    const again = await c.call('POST', '/v1/sessions/memo-a/context', body);
    const before = count();
    const third = await c.call('POST', '/v1/sessions/memo-a/context', body);
    const fourth = await c.call('POST', '/v1/sessions/memo-a/context', body);
    expect([again.json.cached, third.json.cached, fourth.json.cached]).toEqual([true, true, true]);
    expect(count()).toBe(before);

    await c.client.writeTurns('memo-a', { turns: [{ role: 'user', content: 'Actually we moved to Porto.' }] });
    const after = await c.call('POST', '/v1/sessions/memo-a/context', body);
    expect(after.json.cached).toBe(false);
    expect(after.json.session_version).toBe(first.json.session_version + 1);
  });

  it('a change made by any statement, even one outside the services, is read afresh', async () => {
    await c.client.writeTurns('memo-b', { turns: turns3 });
    const one = await findSession(h.deps, c.tenantId, 'memo-b');
    expect(await findSession(h.deps, c.tenantId, 'memo-b')).toEqual(one);
    await h.deps.store.query(
      sql`UPDATE sessions SET metadata = '{"task":"changed"}' WHERE tenant_id = ${c.tenantId} AND id = 'memo-b'`,
    );
    expect((await findSession(h.deps, c.tenantId, 'memo-b'))?.metadata).toEqual({ task: 'changed' });
    await h.deps.store.query(sql`DELETE FROM sessions WHERE tenant_id = ${c.tenantId} AND id = 'memo-b'`);
    expect(await findSession(h.deps, c.tenantId, 'memo-b')).toBeUndefined();
  });

  it('a statement that reads no table leaves remembered rows current; the query lexemes are read so', async () => {
    await c.client.writeTurns('memo-e', { turns: turns3 });
    const one = await findSession(h.deps, c.tenantId, 'memo-e');
    const before = count();
    expect(await h.deps.store.read!<{ n: number }>(sql`SELECT 1 + 1 AS n`)).toEqual([{ n: 2 }]);
    const lexemes = await queryLexemes(h.deps.store, `Painting lakes ${crypto.randomUUID()}`, 16);
    expect(lexemes).toContain('lake');
    expect(count()).toBe(before);
    expect(await findSession(h.deps, c.tenantId, 'memo-e')).toEqual(one);
    expect(count()).toBe(before);
  });

  it('the reads of a QueryContext leave the session row remembered: the next one sends no statement at all', async () => {
    // Copies off: every turn is read from the database, through the store's uncounted reads.
    const app = buildApp({ ...h.deps, env: { ...h.deps.env, CONTEXT_SESSION_COPY_MAX_TURNS: 0 } });
    const ask = async (query: string) => {
      const res = await app.request('/v1/sessions/memo-f/context', {
        method: 'POST',
        headers: { authorization: `Bearer ${c.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query, budget_tokens: 500 }),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { cached: boolean; rendered: { text: string } };
    };
    await c.client.writeTurns('memo-f', { turns: turns3 });
    await h.deps.queue.drain();
    await ask('Which city is the trip to?');
    await h.deps.traceBatch?.flush();
    await ask('Where will Ada stay?');
    const before = count();
    const answer = await ask('What budget per night?');
    expect(answer.cached).toBe(false);
    expect(answer.rendered.text).toContain('120 euros per night');
    expect(count()).toBe(before);
    // A write is still seen by the next one.
    await c.client.writeTurns('memo-f', {
      turns: [{ role: 'user', content: 'The budget is now 150 euros per night.' }],
    });
    expect((await ask('What budget per night now?')).rendered.text).toContain('150 euros per night');
  });

  it('a remembered row asks nothing of the query: its lexemes are worked out only for a statement', async () => {
    await c.client.writeTurns('memo-e', { turns: turns3 });
    await h.deps.queue.drain();
    await h.deps.store.query(sql`SELECT 1`); // any statement: nothing is remembered now
    const asked: string[] = [];
    const lexemesOf = () => (asked.push('asked'), 'lisbon balcony');
    await findSession(h.deps, c.tenantId, 'memo-e', { lexemesOf });
    expect(asked).toHaveLength(1);
    await findSession(h.deps, c.tenantId, 'memo-e', { lexemesOf });
    expect(asked).toHaveLength(1);
  });

  it('a remembered row is a copy: changing what was returned changes nothing remembered', async () => {
    await c.client.writeTurns('memo-c', { turns: turns3 });
    const one = await findSession(h.deps, c.tenantId, 'memo-c');
    const two = await findSession(h.deps, c.tenantId, 'memo-c');
    two!.metadata.injected = 'x';
    two!.version = 999;
    expect(await findSession(h.deps, c.tenantId, 'memo-c')).toEqual(one);
  });

  it("another tenant's session of the same id is never answered from the memo", async () => {
    const other = await tenant(h);
    await c.client.writeTurns('memo-d', { turns: turns3 });
    expect(await findSession(h.deps, c.tenantId, 'memo-d')).toBeDefined();
    expect(await findSession(h.deps, other.tenantId, 'memo-d')).toBeUndefined();
  });

  it('PostgreSQL, shared by other processes, has no statement count: every read goes to the database', async () => {
    const pg = await harness(backends[1].open);
    try {
      expect(pg.deps.store.statementCount).toBeUndefined();
    } finally {
      await pg.close();
    }
  });
});
