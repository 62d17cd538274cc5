// Listing sessions, users and agents, and the write that answers with the next model call's context.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, harness, tenant, turns3, type Harness } from '../helpers.js';

describe.each(backends)('lists and one-call turns on $name', ({ open }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(open);
  });
  afterAll(async () => h.close());

  it('pages through sessions newest first, filtered by user and agent, with no row missed or repeated', async () => {
    const { client } = await tenant(h);
    const owners = [
      { user_id: 'ada', agent_id: 'travel' },
      { user_id: 'ada', agent_id: 'cook' },
      { user_id: 'bob', agent_id: 'travel' },
      {},
    ];
    const written: string[] = [];
    for (let i = 0; i < 12; i++) {
      const id = `s-${String(i).padStart(2, '0')}`;
      await client.writeTurns(id, { ...owners[i % 4], turns: [{ role: 'user', content: `Turn of session ${i}.` }] });
      written.push(id);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listSessions({ limit: 5, ...(cursor ? { cursor } : {}) });
      seen.push(...page.sessions.map((s) => s.session_id));
      cursor = page.next_cursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...written].reverse());

    const ada = await client.listSessions({ user_id: 'ada' });
    expect(ada.sessions.map((s) => s.session_id)).toEqual(written.filter((_, i) => i % 4 < 2).reverse());
    expect(ada.next_cursor).toBeNull();
    const adaTravel = await client.listSessions({ user_id: 'ada', agent_id: 'travel' });
    expect(adaTravel.sessions.map((s) => s.session_id)).toEqual(['s-08', 's-04', 's-00']);
    const first = adaTravel.sessions[2]!;
    expect(first).toMatchObject({ user_id: 'ada', agent_id: 'travel', turn_count: 1, status: 'active' });
    expect(first.total_tokens).toBeGreaterThan(0);
    expect(Date.parse(first.created_at)).not.toBeNaN();
  });

  it('keeps pages exact for sessions created within one millisecond or at one instant', async () => {
    // Microseconds apart, or at the same instant (ordered by id): a cursor cut to milliseconds would skip rows.
    const { client, tenantId } = await tenant(h);
    const at = ['.000100', '.000200', '.000200', '.000300', '.000400', '.000400', '.000900'];
    const ids = at.map((_, i) => `same-${i}`);
    await h.deps.store.query(sql`
      INSERT INTO sessions (tenant_id, id, created_at)
      SELECT ${tenantId}, 'same-' || (i - 1), ('2026-05-08 13:56:00' || (${`{${at.join(',')}}`}::text[])[i] || '+00')::timestamptz
      FROM generate_series(1, ${at.length}) AS i`);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listSessions({ limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.sessions.map((s) => s.session_id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it('pages memories written by one statement without skipping any', async () => {
    // Learned memories of one batch share created_at to the microsecond: the id orders them within it.
    const { client, tenantId } = await tenant(h);
    await h.deps.store.query(sql`
      INSERT INTO memories (id, tenant_id, scope, kind, content, user_id, token_count)
      SELECT gen_random_uuid(), ${tenantId}, 'user', 'fact', 'Fact ' || i, 'ada', 2 FROM generate_series(1, 7) AS i`);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.memories.list({ user_id: 'ada', limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.memories.map((m) => m.content));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(seen.sort()).toEqual(Array.from({ length: 7 }, (_, i) => `Fact ${i + 1}`).sort());
  });

  it('lists users and agents with their session counts', async () => {
    const { client } = await tenant(h);
    await client.writeTurns('a1', { user_id: 'ada', agent_id: 'travel', turns: turns3 });
    await client.writeTurns('a2', { user_id: 'ada', agent_id: 'travel', turns: turns3 });
    await client.writeTurns('b1', { user_id: 'bob', turns: turns3 });
    await client.registerAgent({ agent_id: 'planner', name: 'Trip planner', llm_provider: 'openai' });

    const users = await client.listUsers();
    expect(users.users.map((u) => [u.user_id, u.session_count])).toEqual([
      ['bob', 1],
      ['ada', 2],
    ]);
    const agents = await client.listAgents();
    expect(agents.agents.map((a) => [a.agent_id, a.name, a.session_count])).toEqual([
      ['planner', 'Trip planner', 0],
      ['travel', null, 2],
    ]);
    const one = await client.listAgents({ limit: 1 });
    expect(one.agents.map((a) => a.agent_id)).toEqual(['planner']);
    const next = await client.listAgents({ limit: 1, cursor: one.next_cursor! });
    expect(next.agents.map((a) => a.agent_id)).toEqual(['travel']);
    expect(next.next_cursor).toBeNull();
    // Registered agents' configuration (a webhook secret, say) is not part of the list.
    expect(Object.keys(next.agents[0]!).sort()).toEqual(
      ['agent_id', 'created_at', 'description', 'llm_provider', 'name', 'session_count', 'updated_at'].sort(),
    );
  });

  it('answers a write with the context of the next model call, as QueryContext gives it', async () => {
    const { client, last } = await tenant(h);
    const q = { query: 'Where does Ada want to stay?', budget_tokens: 300 };
    const written = await client.writeTurns('trip', { turns: turns3, return_context: q });
    expect(last().status).toBe(201);
    expect(written.turns.map((t) => t.sequence)).toEqual([1, 2, 3]);
    const ctx = written.context!;
    expect(ctx.session_id).toBe('trip');
    expect(ctx.token_count).toBeLessThanOrEqual(300);
    expect(ctx.rendered.text).toContain('Alfama');
    // The context is the one of the session as written: it holds the turns of this very write.
    expect(ctx.envelope.relevant_history.map((i) => i.sequence).sort()).toEqual([1, 2, 3]);
    const asked = await client.queryContext('trip', q);
    expect(asked.rendered.text).toBe(ctx.rendered.text);
    expect(asked.session_version).toBe(ctx.session_version);
    // A write without it answers as before.
    const plain = await client.writeTurns('trip', { turns: [{ role: 'assistant', content: 'Noted.' }] });
    expect(plain.context).toBeUndefined();
  });

  it('keeps the turns and answers context_error when the context cannot be given', async () => {
    const { client, last } = await tenant(h);
    const written = await client.writeTurns('s', { turns: turns3, return_context: { model_call_id: 'no-such-call' } });
    expect(last().status).toBe(201);
    expect(written.context).toBeUndefined();
    expect(written.context_error?.code).toBe('NOT_FOUND');
    expect((await client.getSession('s')).turn_count).toBe(3);
  });

  it('replays an idempotent write once and still answers with the context', async () => {
    const { client } = await tenant(h);
    const body = { turns: turns3, return_context: { budget_tokens: 200 } };
    const a = await client.writeTurns('s', body, { idempotencyKey: 'k-1' });
    const b = await client.writeTurns('s', body, { idempotencyKey: 'k-1' });
    expect(b.replayed).toBe(true);
    expect(b.turns).toEqual(a.turns);
    expect(b.context?.rendered.text).toBe(a.context?.rendered.text);
    expect((await client.getSession('s')).turn_count).toBe(3);
  });
});
