// The HTTP API inside workerd: Neon store, Upstash cache and Cloudflare Queues, through the real Worker fetch.
import { describe, expect, it } from 'vitest';
import { api, fillerTurns, newTenant, poll, uid } from './helpers.js';

describe('worker fetch', () => {
  it('writes turns, answers within the budget, caches, and invalidates on write', async () => {
    const { key } = await newTenant('ctx');
    const session = uid('sess');
    const write = await api(key, 'POST', `/v1/sessions/${session}/turns`, {
      turns: [
        { role: 'user', content: 'My name is Ada and I am planning a trip to Lisbon in May.' },
        { role: 'assistant', content: 'Lisbon in May is lovely. Would you prefer a hotel or an apartment?' },
        { role: 'user', content: 'An apartment near Alfama, and my budget is 2000 euros for the week.' },
      ],
    });
    expect(write.status).toBe(201);
    expect(write.body.turns).toHaveLength(3);

    const query = { query: 'What is the apartment budget?', budget_tokens: 300 };
    const first = await api(key, 'POST', `/v1/sessions/${session}/context`, query);
    expect(first.status).toBe(200);
    expect(first.body.token_count).toBeLessThanOrEqual(300);
    expect(first.body.rendered.text).toContain('2000 euros');
    expect(first.body.cached).toBe(false);

    const second = await api(key, 'POST', `/v1/sessions/${session}/context`, query);
    expect(second.status).toBe(200);
    expect(second.body.cached).toBe(true);
    expect(second.body.rendered.text).toBe(first.body.rendered.text);

    const more = await api(key, 'POST', `/v1/sessions/${session}/turns`, {
      turns: [{ role: 'user', content: 'Update: the apartment budget is now 2500 euros.' }],
    });
    expect(more.status).toBe(201);
    const third = await api(key, 'POST', `/v1/sessions/${session}/context`, query);
    expect(third.status).toBe(200);
    expect(third.body.cached).toBe(false);
    expect(third.body.rendered.text).toContain('2500 euros');
    expect(third.body.token_count).toBeLessThanOrEqual(300);
  });

  it('rebuild answers 202 and the queue consumer compresses the window', async () => {
    const { key } = await newTenant('rebuild');
    const session = uid('sess');
    expect((await api(key, 'POST', `/v1/sessions/${session}/turns`, { turns: fillerTurns(8) })).status).toBe(201);

    const rebuild = await api(key, 'POST', `/v1/sessions/${session}/rebuild`, { max_tokens: 200 });
    expect(rebuild.status).toBe(202);
    expect(rebuild.body).toMatchObject({ status: 'queued', max_tokens: 200, session_id: session });

    const list = await poll(
      () => api(key, 'GET', `/v1/sessions/${session}/compactions`),
      (r) => r.status === 200 && r.body.compactions.length > 0,
    );
    const [compaction] = list.body.compactions;
    expect(compaction).toMatchObject({ reason: 'rebuild', from_sequence: 1 });
    expect(compaction.turn_count).toBeGreaterThan(0);

    const view = await api(key, 'GET', `/v1/sessions/${session}`);
    expect(view.status).toBe(200);
    expect(view.body.window.summarized_through).toBe(compaction.through_sequence);
    expect(view.body.window.summary.length).toBeGreaterThan(0);
  });

  it('deletes a session: 204, then 404', async () => {
    const { key } = await newTenant('del');
    const session = uid('sess');
    await api(key, 'POST', `/v1/sessions/${session}/turns`, {
      turns: [{ role: 'user', content: 'Something to forget.' }],
    });
    // Cache an answer first, so the delete also has cache entries to drop.
    expect((await api(key, 'POST', `/v1/sessions/${session}/context`, { budget_tokens: 200 })).status).toBe(200);

    expect((await api(key, 'DELETE', `/v1/sessions/${session}`)).status).toBe(204);
    expect((await api(key, 'GET', `/v1/sessions/${session}`)).status).toBe(404);
    expect((await api(key, 'POST', `/v1/sessions/${session}/context`, { budget_tokens: 200 })).status).toBe(404);
    expect((await api(key, 'DELETE', `/v1/sessions/${session}`)).status).toBe(404);
  });

  it('rejects a bad key with 401', async () => {
    const res = await api('ctx_not-a-real-key-at-all', 'GET', `/v1/sessions/${uid('sess')}`);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
  });
});
