import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryLexemes } from '../../src/pipeline/retriever/query-lexemes.js';
import { recallMemories } from '../../src/pipeline/retriever/memories.js';
import { findSession } from '../../src/services/sessions.js';
import { backends, harness, refusingStore, tenant, turns3, type Client, type Harness } from '../helpers.js';

// The session row says whether any memory may be visible to it; QueryContext skips the recall statement when none is.
// It must never say false while recall would find something.
describe.each(backends)('memories flag on the session row ($name)', ({ open }) => {
  let h: Harness;
  let c: Client;
  beforeAll(async () => {
    h = await harness(open);
    c = await tenant(h);
  });
  afterAll(() => h.close());

  /** The flag, and what recall finds for the session with and without a query. */
  async function state(sessionId: string) {
    const s = (await findSession(h.deps, c.tenantId, sessionId))!;
    const owner = { sessionId, userId: s.user_id, agentId: s.agent_id, agentGroups: s.agent_groups };
    const withQuery = await recallMemories(h.deps.store, c.tenantId, owner, 'balcony | confirm | lisbon');
    const without = await recallMemories(h.deps.store, c.tenantId, owner, undefined);
    return { flag: s.memories, found: [...withQuery, ...without].map((m) => m.content) };
  }

  it('is false only while nothing is visible, for every kind of owner', async () => {
    await c.client.writeTurns('f1', { turns: turns3, user_id: 'ada', agent_id: 'travel' });
    expect(await state('f1')).toEqual({ flag: false, found: [] });

    // Another user's memory is not visible.
    await c.client.memories.create({ scope: 'user', user_id: 'zed', content: 'Zed wants a balcony.' });
    expect(await state('f1')).toEqual({ flag: false, found: [] });

    const mine = await c.client.memories.create({ scope: 'user', user_id: 'ada', content: 'Ada wants a balcony.' });
    expect(await state('f1')).toMatchObject({ flag: true, found: expect.arrayContaining(['Ada wants a balcony.']) });
    const ctx = await c.client.queryContext('f1', { query: 'What does she want?', budget_tokens: 600 });
    expect(ctx.rendered.text).toContain('Ada wants a balcony.');
    await c.client.memories.delete(mine.id);
    expect(await state('f1')).toEqual({ flag: false, found: [] });

    // A memory closed for audit (valid_to set) is not recalled, and does not set the flag.
    const agent = await c.client.memories.create({
      scope: 'agent',
      agent_id: 'travel',
      kind: 'constraint',
      content: 'Always confirm first.',
    });
    expect((await state('f1')).flag).toBe(true);
    expect((await state('f1')).found).toContain('Always confirm first.');
    await h.deps.store.query(sql`UPDATE memories SET valid_to = now() WHERE id = ${agent.id}::uuid`);
    expect(await state('f1')).toEqual({ flag: false, found: [] });

    // The session's own memory.
    await c.client.writeTurns('f2', { turns: turns3 });
    expect(await state('f2')).toEqual({ flag: false, found: [] });
    await c.client.memories.create({ scope: 'tool', session_id: 'f2', tool_call_id: 'x', content: 'Lisbon fare.' });
    expect(await state('f2')).toMatchObject({ flag: true, found: expect.arrayContaining(['Lisbon fare.']) });
    expect(await state('f1')).toEqual({ flag: false, found: [] });
  });

  it('counts an agent memory shared with any group (a superset of what recall reads)', async () => {
    await c.client.writeTurns('g1', { turns: turns3, agent_id: 'solo' });
    expect((await state('g1')).flag).toBe(false);
    await c.client.memories.create({
      scope: 'agent',
      agent_id: 'other',
      shared_group_ids: ['crew'],
      content: 'Crew rule: confirm.',
    });
    expect(await state('g1')).toEqual({ flag: true, found: [] });
  });
});

// The query's lexemes are read in the session row's statement and remembered: the same list, in the same order, as
// the separate statement that reads them otherwise.
describe.each(backends)('query lexemes read with the session row ($name)', ({ open }) => {
  let h: Harness;
  let c: Client;
  beforeAll(async () => {
    h = await harness(open);
    c = await tenant(h);
  });
  afterAll(() => h.close());

  it('remembers what the separate read would return, and sends no statement for it', async () => {
    await c.client.writeTurns('q1', { turns: turns3 });
    const queries = [
      'What did Caroline paint, and when did she paint the lake again?',
      "Where's the O'Brien file: /usr/local/notes.txt, ada@example.com, v2.3?",
      'the a of',
      'running runs ran runner: run! run? RUN',
      Array.from({ length: 40 }, (_, i) => `word${i} thing${i % 7}`).join(' '),
    ];
    for (const base of queries) {
      const query = `${base} zq${crypto.randomUUID().slice(0, 8)}`;
      const reference = (
        await h.deps.store.query<{ lexeme: string }>(sql`
          SELECT s.lexeme FROM (
            SELECT lexeme, coalesce(array_length(positions, 1), 1) * 100000 + coalesce(positions[array_length(positions, 1)], 0) AS weight
            FROM unnest(to_tsvector('english', ${query}))
            WHERE strpos(lexeme, chr(92)) = 0
            ORDER BY weight DESC LIMIT 16
          ) s
          ORDER BY s.weight DESC, s.lexeme`)
      ).map((r) => r.lexeme);
      const found = await findSession(h.deps, c.tenantId, 'q1', { lexemesOf: () => query });
      expect(found?.id).toBe('q1');
      const noStore = refusingStore(h.deps.store);
      expect(await queryLexemes(noStore, query, 16)).toEqual(reference);
    }
  });

  it('does not read them again for a query whose lexemes are remembered', async () => {
    await c.client.writeTurns('q3', { turns: turns3 });
    const query = `Which city zq${crypto.randomUUID().slice(0, 8)}?`;
    const sent: string[] = [];
    const recording = {
      ...h.deps.store,
      query: <T>(statement: Parameters<typeof h.deps.store.query>[0]) => {
        sent.push(new PgDialect().sqlToQuery(statement).sql);
        return h.deps.store.query<T>(statement);
      },
    } as typeof h.deps.store;
    const deps = { ...h.deps, store: recording };
    await findSession(deps, c.tenantId, 'q3', { lexemesOf: () => query });
    expect(sent.at(-1)).toContain('to_tsvector');
    await h.deps.store.query(sql`SELECT 1`); // on the embedded database, the row is then read again
    await findSession(deps, c.tenantId, 'q3', { lexemesOf: () => query });
    expect(sent).toHaveLength(2);
    expect(sent.at(-1)).not.toContain('to_tsvector');
  });

  it('answers QueryContext as before, its lexemes read in the same round trip', async () => {
    await c.client.writeTurns('q2', { turns: turns3 });
    const r = await c.client.queryContext('q2', { query: 'Which city did we pick?', budget_tokens: 500 });
    expect(r.rendered.text).toContain('Lisbon');
  });
});
