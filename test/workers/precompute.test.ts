// The precompute job in workerd through the real queue consumer: after a write the next default query is a cache hit,
// and a second runtime sharing the Upstash cache sees a write's invalidation at once.
import { describe, expect, it } from 'vitest';
import type { WorkerEnv } from '../../functions/env.js';
import { defaults } from '../../src/config/tuning.js';
import { api, apiOn, newTenant, uid, waitForPrecomputed, workerEnv } from './helpers.js';

const turns = [
  { role: 'user', content: 'My name is Ada and I am planning a trip to Lisbon in May.' },
  { role: 'assistant', content: 'Lisbon in May is lovely. Would you prefer a hotel or an apartment?' },
  { role: 'user', content: 'An apartment near Alfama, and my budget is 2000 euros for the week.' },
];
const defaultQuery = { budget_tokens: defaults.precomputeBudgetTokens };

describe('precompute through the queue consumer', () => {
  it('serves the default query after a write from the cache the consumer filled', async () => {
    const { tenantId, key } = await newTenant('pre');
    const session = uid('sess');
    expect((await api(key, 'POST', `/v1/sessions/${session}/turns`, { turns })).status).toBe(201);

    await waitForPrecomputed(tenantId, session, 1);
    const r = await api(key, 'POST', `/v1/sessions/${session}/context`, defaultQuery);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ cached: true, session_version: 1 });
    expect(r.body.rendered.text).toContain('Alfama');
    expect(r.body.token_count).toBeLessThanOrEqual(defaults.precomputeBudgetTokens);
    expect(r.body.request_id).not.toMatch(/^precompute:/);
  });

  it('a second runtime shares the cache and sees a write through the other at once', async () => {
    const { tenantId, key } = await newTenant('iso');
    const session = uid('sess');
    // A distinct env object: runtimeFor builds separate dependencies for it, like another isolate.
    const other = { ...workerEnv } as WorkerEnv;
    expect((await api(key, 'POST', `/v1/sessions/${session}/turns`, { turns })).status).toBe(201);

    const q = { query: 'What is the apartment budget?', budget_tokens: 300 };
    expect((await api(key, 'POST', `/v1/sessions/${session}/context`, q)).body.cached).toBe(false);
    const fromOther = await apiOn(other, key, 'POST', `/v1/sessions/${session}/context`, q);
    expect(fromOther.status).toBe(200);
    expect(fromOther.body.cached).toBe(true);

    const write = await apiOn(other, key, 'POST', `/v1/sessions/${session}/turns`, {
      turns: [{ role: 'user', content: 'Update: the apartment budget is now 2500 euros.' }],
    });
    expect(write.status).toBe(201);
    const after = await api(key, 'POST', `/v1/sessions/${session}/context`, q);
    expect(after.body).toMatchObject({ cached: false, session_version: 2 });
    expect(after.body.rendered.text).toContain('2500 euros');

    // And the consumer prepared the new default context, which both runtimes serve.
    await waitForPrecomputed(tenantId, session, 2);
    for (const on of [workerEnv, other]) {
      const r = await apiOn(on, key, 'POST', `/v1/sessions/${session}/context`, defaultQuery);
      expect(r.body).toMatchObject({ cached: true, session_version: 2 });
      expect(r.body.rendered.text).toContain('2500 euros');
    }
  });
});
