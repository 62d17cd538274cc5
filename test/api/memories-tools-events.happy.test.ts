// Memories, tool chains and events through the typed client; a malformed event goes through the untyped `call`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRequest, MemoryResult, WriteTurnsResult } from '../../src/client/index.js';
import { backends, harness, snapshot, tenant, turns3, type Harness } from '../helpers.js';

describe.each(backends)('memories, tool chains and events on $name', ({ open }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(open);
  });
  afterAll(async () => h.close());

  it('creates, lists with pagination, searches and deletes memories', async () => {
    const { client, last } = await tenant(h);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await client.memories.create({
        scope: 'user',
        user_id: 'ada',
        kind: 'fact',
        content: `Fact ${i}: Ada owns ${i + 2} bicycles.`,
      });
      expect(last().status).toBe(201);
      expect(m.token_count).toBeGreaterThan(3);
      ids.push(m.id);
    }
    const page1 = await client.memories.list({ user_id: 'ada', limit: 2 });
    expect(page1.memories).toHaveLength(2);
    const page2 = await client.memories.list({ user_id: 'ada', limit: 2, cursor: page1.next_cursor! });
    const page3 = await client.memories.list({ user_id: 'ada', limit: 2, cursor: page2.next_cursor! });
    expect(page3.next_cursor).toBeNull();
    const seen = [...page1.memories, ...page2.memories, ...page3.memories].map((m) => m.id);
    expect(new Set(seen)).toEqual(new Set(ids));
    const found = await client.memories.search({ query: 'bicycles', user_id: 'ada', limit: 3 });
    expect(found.memories).toHaveLength(3);
    await client.memories.delete(ids[0]!);
    expect(last().status).toBe(204);
    await expect(client.memories.delete(ids[0]!)).rejects.toMatchObject({ status: 404 });
    await expect(client.memories.list({ cursor: 'garbage' })).rejects.toMatchObject({ status: 400 });
    await expect(client.memories.create({ scope: 'user', content: 'no owner' })).rejects.toMatchObject({ status: 400 });
  });

  it('recalls the session user’s memories and the agent’s public ones, not other users’', async () => {
    const { client } = await tenant(h);
    await client.writeTurns('m1', { turns: turns3, user_id: 'ada', agent_id: 'travel' });
    await client.memories.create({
      scope: 'user',
      user_id: 'ada',
      kind: 'preference',
      content: 'Ada prefers quiet apartments with a balcony.',
    });
    await client.memories.create({
      scope: 'user',
      user_id: 'zed',
      kind: 'preference',
      content: 'Zed prefers loud apartments near clubs.',
    });
    await client.memories.create({
      scope: 'agent',
      agent_id: 'travel',
      kind: 'constraint',
      content: 'Never book without explicit confirmation.',
    });
    const r = await client.queryContext('m1', { query: 'Which apartments does she prefer?', budget_tokens: 800 });
    expect(r.rendered.text).toContain('balcony');
    expect(r.rendered.text).not.toContain('Zed');
    expect(r.envelope.hard_constraints.map((x) => x.text)).toContain('Never book without explicit confirmation.');
    expect(r.rendered.messages[0]!.content).toContain('Never book without explicit confirmation.');
    const agent = await client.getAgentContext('travel');
    expect(agent.session_count).toBe(1);
    expect(agent.memories[0]!.content).toContain('confirmation');
  });

  it('registers a tool chain, stores results as linked tool turns, and shows them as findings', async () => {
    const { client, last } = await tenant(h);
    await client.writeTurns('t1', { turns: [{ role: 'user', content: 'Find me a flight to Lisbon on May 3.' }] });
    const reg = await client.registerToolChain('t1', {
      chain_id: 'chain-1',
      name: 'flight search',
      steps: [{ step_id: 'call_a', tool_name: 'search_flights', arguments: { to: 'LIS', date: '2024-05-03' } }],
    });
    expect(last().status).toBe(201);
    expect(reg.steps[0]!.status).toBe('pending');
    await client.registerToolChain('t1', {
      chain_id: 'chain-1',
      steps: [{ step_id: 'call_a', tool_name: 'search_flights', arguments: {} }],
    });
    expect(last().status).toBe(201);
    const result = '{"flight":"TP1351","price_eur":129}';
    const upd = await client.updateToolResult('t1', 'chain-1', 'call_a', { status: 'ok', result });
    expect(last().status).toBe(200);
    expect(upd.status).toBe('done');
    expect(upd.steps[0]!.result_token_count).toBeGreaterThan(5);
    expect(upd.steps[0]!.summary).toBe('flight: TP1351, price_eur: 129');
    // Retrying the same update stores nothing twice.
    await client.updateToolResult('t1', 'chain-1', 'call_a', { status: 'ok', result });
    const { turns } = await client.listTurns('t1');
    expect(turns.map((t) => t.role)).toEqual(['user', 'assistant', 'tool']);
    expect(turns[1]!.tool_calls?.[0]).toMatchObject({ id: 'call_a', name: 'search_flights' });
    expect(turns[2]!.tool_call_id).toBe('call_a');
    const ctx = await client.queryContext('t1', { query: 'which flight', budget_tokens: 500 });
    expect(ctx.envelope.tool_findings[0]).toMatchObject({ tool_call_id: 'call_a', name: 'search_flights' });
    expect(ctx.rendered.text).toContain('TP1351');
    const missingStep = client.updateToolResult('t1', 'chain-1', 'nope', { status: 'ok', result: 'x' });
    await expect(missingStep).rejects.toMatchObject({ status: 404 });
    const missingSession = client.registerToolChain('none', { steps: [{ step_id: 'a', tool_name: 'x' }] });
    await expect(missingSession).rejects.toMatchObject({ status: 404 });
  });

  it('handles the three event types and deduplicates redelivery by event_id', async () => {
    const c = await tenant(h);
    const { client, last } = c;
    const conv: EventRequest = {
      type: 'conversation.new',
      event_id: 'ev-1',
      session_id: 'e1',
      user_id: 'ada',
      turns: turns3,
    };
    // An event's `result` is declared `unknown` in the schema: it is the result of the route the event stands for.
    const a = await client.publishEvent(conv);
    expect(last().status).toBe(202);
    expect((a.result as WriteTurnsResult).turns).toHaveLength(3);
    const snap = await snapshot(h.deps, c.tenantId);
    await client.publishEvent(conv);
    expect(last().status).toBe(202);
    expect(await snapshot(h.deps, c.tenantId)).toEqual(snap);
    await client.publishEvent({
      type: 'tool.executed',
      session_id: 'e1',
      tool_call_id: 'c9',
      tool_name: 'weather',
      result: 'Sunny, 24C',
    });
    expect(last().status).toBe(202);
    const mem = await client.publishEvent({
      type: 'memory.updated',
      action: 'upsert',
      memory: { scope: 'user', user_id: 'ada', content: 'Ada is allergic to peanuts.' },
    });
    expect(last().status).toBe(202);
    await client.publishEvent({ type: 'memory.updated', action: 'delete', memory_id: (mem.result as MemoryResult).id });
    expect(last().status).toBe(202);
    expect((await client.memories.list({ user_id: 'ada', origin: 'written' })).memories).toHaveLength(0);
    const noMemoryId = client.publishEvent({ type: 'memory.updated', action: 'delete' });
    await expect(noMemoryId).rejects.toMatchObject({ status: 400 });
    // An unknown type is a body the typed client would not let us write.
    expect((await c.call('POST', '/v1/events', { type: 'unknown.event' })).status).toBe(400);
  });

  it('serves health and the OpenAPI document without a key', async () => {
    const health = await h.app.request('/healthz');
    expect(health.status).toBe(200);
    const doc: any = await (await h.app.request('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/sessions/{session_id}/turns',
        '/v1/sessions/{session_id}/context',
        '/v1/sessions/{session_id}/rebuild',
        '/v1/sessions/{session_id}',
        '/v1/events',
        '/v1/memories',
      ]),
    );
    expect(doc.components.schemas.ContextEnvelope).toBeTruthy();
  });
});
