// Lists show one tenant's own sessions, users and agents only; a write-only key cannot read a context through a write.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/services/auth.js';
import { backends, clientFor, harness, tenant, turns3, type Client, type Harness } from '../helpers.js';

describe.each(backends)('list isolation on $name', ({ open }) => {
  let h: Harness;
  let a: Client;
  let b: Client;
  beforeAll(async () => {
    h = await harness(open);
    a = await tenant(h);
    b = await tenant(h);
    // The same ids in both tenants, and more of A's than a page holds.
    for (let i = 0; i < 4; i++)
      await a.client.writeTurns(`s-${i}`, { user_id: 'ada', agent_id: 'travel', turns: turns3 });
    await a.client.registerAgent({ agent_id: 'a-only', name: 'A secret agent' });
    await b.client.writeTurns('s-0', { user_id: 'ada', agent_id: 'travel', turns: turns3 });
  });
  afterAll(async () => h.close());

  it("never lists another tenant's sessions, users or agents, with or without filters", async () => {
    const sessions = await b.client.listSessions({ user_id: 'ada' });
    expect(sessions.sessions.map((s) => s.session_id)).toEqual(['s-0']);
    expect(sessions.sessions[0]!.turn_count).toBe(3);
    expect((await b.client.listSessions({ agent_id: 'travel' })).sessions).toHaveLength(1);
    expect((await b.client.listUsers()).users).toEqual([expect.objectContaining({ user_id: 'ada', session_count: 1 })]);
    const agents = await b.client.listAgents();
    expect(agents.agents.map((x) => [x.agent_id, x.session_count])).toEqual([['travel', 1]]);
    expect((await a.client.listSessions()).sessions).toHaveLength(4);
    expect((await a.client.listAgents()).agents.map((x) => x.agent_id).sort()).toEqual(['a-only', 'travel']);
  });

  it('reads nothing of another tenant through a cursor it made', async () => {
    const page = await a.client.listSessions({ limit: 1 });
    expect(page.next_cursor).not.toBeNull();
    const through = await b.client.listSessions({ cursor: page.next_cursor! });
    expect(through.sessions.every((s) => s.session_id === 's-0')).toBe(true);
    expect(through.sessions.length).toBeLessThanOrEqual(1);
    const agentPage = await a.client.listAgents({ limit: 1 });
    const others = await b.client.listAgents({ cursor: agentPage.next_cursor! });
    expect(others.agents.map((x) => x.agent_id)).not.toContain('a-only');
  });

  it('lists with a read-only key and refuses a key without read', async () => {
    const readOnly = clientFor(
      h,
      a.tenantId,
      (await createApiKey(h.deps, { tenantId: a.tenantId, scopes: ['read'] })).key,
    );
    const writeOnly = clientFor(
      h,
      a.tenantId,
      (await createApiKey(h.deps, { tenantId: a.tenantId, scopes: ['write'] })).key,
    );
    for (const path of ['/v1/sessions', '/v1/users', '/v1/agents']) {
      expect((await readOnly.call('GET', path)).status).toBe(200);
      const refused = await writeOnly.call('GET', path);
      expect(refused.status).toBe(403);
      expect(refused.json.error.code).toBe('FORBIDDEN');
      expect(
        (await a.call('GET', path, undefined, { authorization: 'Bearer ctx_AAAAAAAAAAAAAAAAAAAAAAAA' })).status,
      ).toBe(401);
    }
  });

  it('refuses return_context to a write-only key before storing the turns', async () => {
    const writeOnly = clientFor(
      h,
      a.tenantId,
      (await createApiKey(h.deps, { tenantId: a.tenantId, scopes: ['write'] })).key,
    );
    const r = await writeOnly.call('POST', '/v1/sessions/w/turns', {
      turns: turns3,
      return_context: { budget_tokens: 100 },
    });
    expect(r.status).toBe(403);
    expect(r.json.error.message).toContain('"read"');
    expect((await a.call('GET', '/v1/sessions/w')).status).toBe(404);
    // Without it the same key writes.
    expect((await writeOnly.call('POST', '/v1/sessions/w/turns', { turns: turns3 })).status).toBe(201);
  });

  it("recalls only the caller's own sessions in the context a write returns", async () => {
    // Both tenants have user "ada" with agent "travel"; A has s-0 to s-3, B only s-0.
    const r = await b.client.writeTurns('s-9', {
      user_id: 'ada',
      agent_id: 'travel',
      turns: [{ role: 'user', content: 'Where do I want to stay in Lisbon?' }],
      return_context: { query: 'apartments near Alfama', budget_tokens: 800 },
    });
    const sources = r.context!.envelope.relevant_history.map((t) => t.session_id ?? 's-9');
    expect(sources).toContain('s-0');
    expect(new Set(sources)).toEqual(new Set(['s-0', 's-9']));
  });
});
