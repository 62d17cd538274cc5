// Isolation: another tenant's key reaches nothing (routes.security.test.ts checks every route naming a resource in
// its path); within a tenant, private memories stay with their user (and agent), agent memories with their groups.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, harness, snapshot, tenant, type Client, type Harness } from '../helpers.js';

const SECRET = 'OSPREY-7731';

describe.each(backends)('isolation on $name', ({ open }) => {
  let h: Harness;
  let a: Client;
  let b: Client;
  let memoryId: string;
  let requestId: string;
  beforeAll(async () => {
    h = await harness(open);
    a = await tenant(h);
    b = await tenant(h);
    await a.call('POST', '/v1/sessions/shared/turns', {
      user_id: 'u1',
      agent_id: 'ag1',
      turns: [{ role: 'user', content: `The vault code is ${SECRET}.` }],
    });
    await a.call('POST', '/v1/sessions/shared/tool-chains', {
      chain_id: 'ch1',
      steps: [{ step_id: 's1', tool_name: 'vault' }],
    });
    memoryId = (await a.call('POST', '/v1/memories', { scope: 'user', user_id: 'u1', content: `Remember ${SECRET}` }))
      .json.id;
    expect(
      (
        await a.call('POST', '/v1/agents', {
          agent_id: 'ag1',
          config: { webhook: { url: 'https://hooks.example.com/ag1', secret: `whsec-${SECRET}` } },
        })
      ).status,
    ).toBe(200);
    await a.call('PUT', '/v1/agents/ag1/task-flows/f1', {
      model_calls: [{ id: 'call1', model: 'm', budget_tokens: 500 }],
    });
    requestId = (await a.call('POST', '/v1/sessions/shared/context', { query: 'vault code', budget_tokens: 500 })).json
      .request_id;
  });
  afterAll(async () => h.close());

  it("another tenant gets 404 or an empty result where a body names the first tenant's data", async () => {
    const before = await snapshot(h.deps, a.tenantId);
    // Routes that name a resource in their path are checked for every route in routes.security.test.ts.
    const attempts: [string, string, unknown][] = [
      [
        'POST',
        '/v1/events',
        {
          type: 'tool.executed',
          session_id: 'shared',
          tool_call_id: 's1',
          tool_name: 'vault',
          result: 'x',
          chain_id: 'ch1',
        },
      ],
      ['POST', '/v1/events', { type: 'memory.updated', action: 'delete', memory_id: memoryId }],
      ['POST', '/v1/sessions/shared/context', { model_call_id: 'call1' }],
      ['POST', '/v1/evaluations', { request_id: requestId, overall_score: 0.1 }],
    ];
    for (const [method, path, body] of attempts) {
      const r = await b.call(method, path, body);
      expect(r.status, `${method} ${path} ${JSON.stringify(body)} → ${r.status}`).toBe(404);
      expect(JSON.stringify(r.json ?? {})).not.toContain(SECRET);
    }
    expect((await b.call('GET', '/v1/reports/strategies')).json.variants).toEqual([]);
    // The same agent id in the other tenant is its own agent; the first tenant's webhook secret is never shown.
    expect((await b.call('POST', '/v1/agents', { agent_id: 'ag1' })).status).toBe(201);
    expect(JSON.stringify((await a.call('GET', '/v1/agents/ag1/context')).json)).not.toContain(SECRET);
    for (const [method, path, body] of [
      ['GET', '/v1/memories?user_id=u1'],
      ['POST', '/v1/memories/search', { query: SECRET, user_id: 'u1' }],
    ] as const) {
      const r = await b.call(method, path, body);
      expect(r.status).toBe(200);
      expect(r.json.memories).toEqual([]);
    }
    // Reusing the same ids in the other tenant creates separate data.
    await b.call('POST', '/v1/sessions/shared/turns', { turns: [{ role: 'user', content: 'hello' }] });
    const ctx = await b.call('POST', '/v1/sessions/shared/context', { query: 'vault code', budget_tokens: 500 });
    expect(JSON.stringify(ctx.json)).not.toContain(SECRET);
    expect(await snapshot(h.deps, a.tenantId)).toEqual(before);
    const rows = await h.deps.store.query<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM turns WHERE tenant_id = ${b.tenantId} AND content LIKE ${'%' + SECRET + '%'}`,
    );
    expect(Number(rows[0]!.n)).toBe(0);
  });

  it('keeps private memories with their user and agent; shares agent memories only with named groups', async () => {
    const c = await tenant(h);
    const write = (session: string, user: string, agent: string) =>
      c.call('POST', `/v1/sessions/${session}/turns`, {
        user_id: user,
        agent_id: agent,
        turns: [{ role: 'user', content: 'What do you know about my preferences and the rules?' }],
      });
    await write('s-ada-travel', 'ada', 'travel');
    await write('s-ada-billing', 'ada', 'billing');
    await write('s-bob-travel', 'bob', 'travel');
    await write('s-ada-support', 'ada', 'support');
    await c.call('POST', '/v1/memories', {
      scope: 'user',
      user_id: 'ada',
      content: 'Ada preferences: window seat GLOBAL-PREF.',
    });
    await c.call('POST', '/v1/memories', {
      scope: 'user',
      user_id: 'ada',
      agent_id: 'travel',
      content: 'Ada preferences for travel only TRAVEL-PRIVATE.',
    });
    await c.call('POST', '/v1/memories', {
      scope: 'agent',
      agent_id: 'travel',
      shared_group_ids: ['ops'],
      content: 'Travel preferences rules AGENT-PUBLIC.',
    });
    // The support agent belongs to the ops group; billing does not.
    await h.deps.store.query(
      sql`UPDATE agents SET config = '{"groups":["ops"]}'::jsonb WHERE tenant_id = ${c.tenantId} AND id = 'support'`,
    );
    const textOf = async (session: string) =>
      (await c.call('POST', `/v1/sessions/${session}/context`, { query: 'preferences rules', budget_tokens: 1500 }))
        .json.rendered.text as string;
    const travel = await textOf('s-ada-travel');
    expect(travel).toContain('GLOBAL-PREF');
    expect(travel).toContain('TRAVEL-PRIVATE');
    expect(travel).toContain('AGENT-PUBLIC');
    const billing = await textOf('s-ada-billing');
    expect(billing).toContain('GLOBAL-PREF');
    expect(billing).not.toContain('TRAVEL-PRIVATE');
    expect(billing).not.toContain('AGENT-PUBLIC');
    const bob = await textOf('s-bob-travel');
    expect(bob).not.toContain('GLOBAL-PREF');
    expect(bob).not.toContain('TRAVEL-PRIVATE');
    expect(bob).toContain('AGENT-PUBLIC');
    const support = await textOf('s-ada-support');
    expect(support).toContain('AGENT-PUBLIC');
    expect(support).not.toContain('TRAVEL-PRIVATE');
  });

  it('scopes tool-output memories to their session', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/t1/turns', { turns: [{ role: 'user', content: 'check the ledger totals' }] });
    await c.call('POST', '/v1/sessions/t2/turns', { turns: [{ role: 'user', content: 'check the ledger totals' }] });
    await c.call('POST', '/v1/memories', {
      scope: 'tool',
      session_id: 't1',
      tool_call_id: 'call-9',
      content: 'ledger totals TOOL-ONLY-T1',
    });
    const t1 = await c.call('POST', '/v1/sessions/t1/context', { query: 'ledger totals', budget_tokens: 800 });
    const t2 = await c.call('POST', '/v1/sessions/t2/context', { query: 'ledger totals', budget_tokens: 800 });
    expect(t1.json.rendered.text).toContain('TOOL-ONLY-T1');
    expect(t2.json.rendered.text).not.toContain('TOOL-ONLY-T1');
  });
});
