// Listing and one-call turns inside workerd: the shared routes over the Neon store, isolated per tenant.
import { describe, expect, it } from 'vitest';
import { api, newTenant, uid } from './helpers.js';

describe('worker lists and one-call turns', () => {
  it('pages sessions of one user, lists users and agents, and never shows another tenant', async () => {
    const a = await newTenant('list');
    const b = await newTenant('list');
    const ids = [uid('s'), uid('s'), uid('s')];
    for (const id of ids) {
      const w = await api(a.key, 'POST', `/v1/sessions/${id}/turns`, {
        user_id: 'ada',
        agent_id: 'travel',
        turns: [{ role: 'user', content: `Turn of ${id}.` }],
      });
      expect(w.status).toBe(201);
    }
    await api(b.key, 'POST', `/v1/sessions/${uid('s')}/turns`, {
      user_id: 'ada',
      turns: [{ role: 'user', content: 'Of tenant B.' }],
    });

    const first = await api(a.key, 'GET', '/v1/sessions?user_id=ada&limit=2');
    expect(first.status).toBe(200);
    expect(first.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([ids[2], ids[1]]);
    const rest = await api(a.key, 'GET', `/v1/sessions?user_id=ada&limit=2&cursor=${first.body.next_cursor}`);
    expect(rest.body.sessions.map((s: { session_id: string }) => s.session_id)).toEqual([ids[0]]);
    expect(rest.body.next_cursor).toBeNull();

    expect((await api(a.key, 'GET', '/v1/users')).body.users).toEqual([
      expect.objectContaining({ user_id: 'ada', session_count: 3 }),
    ]);
    expect((await api(a.key, 'GET', '/v1/agents')).body.agents.map((x: { agent_id: string }) => x.agent_id)).toEqual([
      'travel',
    ]);
    const other = await api(b.key, 'GET', '/v1/sessions');
    expect(other.body.sessions).toHaveLength(1);
    expect((await api(b.key, 'GET', '/v1/agents')).body.agents).toEqual([]);
    const bad = await api(a.key, 'GET', '/v1/sessions?cursor=nope');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('BAD_REQUEST');
  });

  it('answers a write with the context of the next model call', async () => {
    const { key } = await newTenant('turn');
    const session = uid('sess');
    const w = await api(key, 'POST', `/v1/sessions/${session}/turns`, {
      turns: [
        { role: 'user', content: 'An apartment near Alfama, and my budget is 2000 euros for the week.' },
        { role: 'assistant', content: 'Noted.' },
      ],
      return_context: { query: 'What is the budget?', budget_tokens: 300 },
    });
    expect(w.status).toBe(201);
    expect(w.body.turns).toHaveLength(2);
    expect(w.body.context.token_count).toBeLessThanOrEqual(300);
    expect(w.body.context.rendered.text).toContain('2000 euros');
  });
});
