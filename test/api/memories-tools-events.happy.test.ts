import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, harness, snapshot, tenant, turns3, type Harness } from '../helpers.js';

describe.each(backends)('memories, tool chains and events on $name', ({ open }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(open);
  });
  afterAll(async () => h.close());

  it('creates, lists with pagination, searches and deletes memories', async () => {
    const c = await tenant(h);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await c.call('POST', '/v1/memories', { scope: 'user', user_id: 'ada', kind: 'fact', content: `Fact ${i}: Ada owns ${i + 2} bicycles.` });
      expect(r.status).toBe(201);
      expect(r.json.token_count).toBeGreaterThan(3);
      ids.push(r.json.id);
    }
    const page1 = await c.call('GET', '/v1/memories?user_id=ada&limit=2');
    expect(page1.json.memories).toHaveLength(2);
    const page2 = await c.call('GET', `/v1/memories?user_id=ada&limit=2&cursor=${page1.json.next_cursor}`);
    const page3 = await c.call('GET', `/v1/memories?user_id=ada&limit=2&cursor=${page2.json.next_cursor}`);
    expect(page3.json.next_cursor).toBeNull();
    const seen = [...page1.json.memories, ...page2.json.memories, ...page3.json.memories].map((m: any) => m.id);
    expect(new Set(seen)).toEqual(new Set(ids));
    const found = await c.call('POST', '/v1/memories/search', { query: 'bicycles', user_id: 'ada', limit: 3 });
    expect(found.json.memories).toHaveLength(3);
    expect((await c.call('DELETE', `/v1/memories/${ids[0]}`)).status).toBe(204);
    expect((await c.call('DELETE', `/v1/memories/${ids[0]}`)).status).toBe(404);
    expect((await c.call('GET', '/v1/memories?cursor=garbage')).status).toBe(400);
    expect((await c.call('POST', '/v1/memories', { scope: 'user', content: 'no owner' })).status).toBe(400);
  });

  it('recalls the session user’s memories and the agent’s public ones, not other users’', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/m1/turns', { turns: turns3, user_id: 'ada', agent_id: 'travel' });
    await c.call('POST', '/v1/memories', { scope: 'user', user_id: 'ada', kind: 'preference', content: 'Ada prefers quiet apartments with a balcony.' });
    await c.call('POST', '/v1/memories', { scope: 'user', user_id: 'zed', kind: 'preference', content: 'Zed prefers loud apartments near clubs.' });
    await c.call('POST', '/v1/memories', { scope: 'agent', agent_id: 'travel', kind: 'constraint', content: 'Never book without explicit confirmation.' });
    const r = await c.call('POST', '/v1/sessions/m1/context', { query: 'Which apartments does she prefer?', budget_tokens: 800 });
    expect(r.json.rendered.text).toContain('balcony');
    expect(r.json.rendered.text).not.toContain('Zed');
    expect(r.json.envelope.hard_constraints.map((x: any) => x.text)).toContain('Never book without explicit confirmation.');
    expect(r.json.rendered.messages[0].content).toContain('Never book without explicit confirmation.');
    const agent = await c.call('GET', '/v1/agents/travel/context');
    expect(agent.json.session_count).toBe(1);
    expect(agent.json.memories[0].content).toContain('confirmation');
  });

  it('registers a tool chain, stores results as linked tool turns, and shows them as findings', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/t1/turns', { turns: [{ role: 'user', content: 'Find me a flight to Lisbon on May 3.' }] });
    const reg = await c.call('POST', '/v1/sessions/t1/tool-chains', {
      chain_id: 'chain-1', name: 'flight search',
      steps: [{ step_id: 'call_a', tool_name: 'search_flights', arguments: { to: 'LIS', date: '2024-05-03' } }],
    });
    expect(reg.status).toBe(201);
    expect(reg.json.steps[0].status).toBe('pending');
    const again = await c.call('POST', '/v1/sessions/t1/tool-chains', {
      chain_id: 'chain-1', steps: [{ step_id: 'call_a', tool_name: 'search_flights', arguments: {} }],
    });
    expect(again.status).toBe(201);
    const upd = await c.call('PUT', '/v1/sessions/t1/tool-chains/chain-1/steps/call_a', { status: 'ok', result: '{"flight":"TP1351","price_eur":129}' });
    expect(upd.status).toBe(200);
    expect(upd.json.status).toBe('done');
    expect(upd.json.steps[0].result_token_count).toBeGreaterThan(5);
    expect(upd.json.steps[0].summary).toBe('flight: TP1351, price_eur: 129');
    // Retrying the same update stores nothing twice.
    await c.call('PUT', '/v1/sessions/t1/tool-chains/chain-1/steps/call_a', { status: 'ok', result: '{"flight":"TP1351","price_eur":129}' });
    const turns = (await c.call('GET', '/v1/sessions/t1/turns')).json.turns;
    expect(turns.map((t: any) => t.role)).toEqual(['user', 'assistant', 'tool']);
    expect(turns[1].tool_calls[0]).toMatchObject({ id: 'call_a', name: 'search_flights' });
    expect(turns[2].tool_call_id).toBe('call_a');
    const ctx = await c.call('POST', '/v1/sessions/t1/context', { query: 'which flight', budget_tokens: 500 });
    expect(ctx.json.envelope.tool_findings[0]).toMatchObject({ tool_call_id: 'call_a', name: 'search_flights' });
    expect(ctx.json.rendered.text).toContain('TP1351');
    expect((await c.call('PUT', '/v1/sessions/t1/tool-chains/chain-1/steps/nope', { status: 'ok', result: 'x' })).status).toBe(404);
    expect((await c.call('POST', '/v1/sessions/none/tool-chains', { steps: [{ step_id: 'a', tool_name: 'x' }] })).status).toBe(404);
  });

  it('handles the three event types and deduplicates redelivery by event_id', async () => {
    const c = await tenant(h);
    const conv = { type: 'conversation.new', event_id: 'ev-1', session_id: 'e1', user_id: 'ada', turns: turns3 };
    const a = await c.call('POST', '/v1/events', conv);
    expect(a.status).toBe(202);
    expect(a.json.result.turns).toHaveLength(3);
    const snap = await snapshot(h.deps, c.tenantId);
    const b = await c.call('POST', '/v1/events', conv);
    expect(b.status).toBe(202);
    expect(await snapshot(h.deps, c.tenantId)).toEqual(snap);
    const tool = await c.call('POST', '/v1/events', { type: 'tool.executed', session_id: 'e1', tool_call_id: 'c9', tool_name: 'weather', result: 'Sunny, 24C' });
    expect(tool.status).toBe(202);
    const mem = await c.call('POST', '/v1/events', { type: 'memory.updated', action: 'upsert', memory: { scope: 'user', user_id: 'ada', content: 'Ada is allergic to peanuts.' } });
    expect(mem.status).toBe(202);
    const del = await c.call('POST', '/v1/events', { type: 'memory.updated', action: 'delete', memory_id: mem.json.result.id });
    expect(del.status).toBe(202);
    expect((await c.call('GET', '/v1/memories?user_id=ada')).json.memories).toHaveLength(0);
    expect((await c.call('POST', '/v1/events', { type: 'memory.updated', action: 'delete' })).status).toBe(400);
    expect((await c.call('POST', '/v1/events', { type: 'unknown.event' })).status).toBe(400);
  });

  it('serves health and the OpenAPI document without a key', async () => {
    const health = await h.app.request('/healthz');
    expect(health.status).toBe(200);
    const doc: any = await (await h.app.request("/openapi.json")).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining([
      '/v1/sessions/{session_id}/turns', '/v1/sessions/{session_id}/context', '/v1/sessions/{session_id}/rebuild',
      '/v1/sessions/{session_id}', '/v1/events', '/v1/memories',
    ]));
    expect(doc.components.schemas.ContextEnvelope).toBeTruthy();
  });
});
