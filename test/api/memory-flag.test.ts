import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recallMemories } from '../../src/pipeline/retriever/memories.js';
import { findSession } from '../../src/services/sessions.js';
import { backends, harness, tenant, turns3, type Client, type Harness } from '../helpers.js';

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
