// Learned memories inside workerd: a write to a user's session queues the learning job on the Cloudflare queue, its
// consumer stores what the user said through the Neon driver, and the same job delivered again adds nothing.
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../functions/worker.js';
import type { LearnJob } from '../../src/ports.js';
import { api, newTenant, poll, uid, workerEnv } from './helpers.js';

async function deliver(job: LearnJob) {
  const batch = createMessageBatch('context-jobs', [
    { id: `msg-${crypto.randomUUID().slice(0, 6)}`, timestamp: new Date(), attempts: 1, body: job },
  ]);
  const ctx = createExecutionContext();
  await worker.queue(batch, workerEnv);
  return getQueueResult(batch, ctx);
}

describe('learned memories on Workers', () => {
  it('learns through the queue consumer, supersedes a moved user’s old place, once however delivered', async () => {
    const { tenantId, key } = await newTenant('learn');
    const [s1, s2] = [uid('s1'), uid('s2')];
    const user = uid('u');
    const learned = async (all = false) =>
      (await api(key, 'GET', `/v1/memories?user_id=${user}&origin=learned${all ? '&include_superseded=true' : ''}`))
        .body.memories as any[];

    const w1 = await api(key, 'POST', `/v1/sessions/${s1}/turns`, {
      user_id: user,
      turns: [
        {
          role: 'user',
          content: 'My daughter Mira is allergic to peanuts. We live in Lisbon.',
          created_at: '2024-05-08T10:00:00Z',
        },
      ],
    });
    expect(w1.status).toBe(201);
    const first = await poll(
      () => learned(),
      (m) => m.length === 2,
    );
    expect(first.map((m) => [m.kind, m.session_id, m.source_sequences]).sort()).toEqual([
      ['constraint', s1, [1]],
      ['fact', s1, [1]],
    ]);

    const w2 = await api(key, 'POST', `/v1/sessions/${s2}/turns`, {
      user_id: user,
      turns: [{ role: 'user', content: 'We moved to Porto in August.', created_at: '2024-08-20T09:30:00Z' }],
    });
    expect(w2.status).toBe(201);
    const all = await poll(
      () => learned(true),
      (m) => m.length === 3,
    );
    const lisbon = all.find((m) => m.content.includes('Lisbon'))!;
    const porto = all.find((m) => m.content.includes('Porto'))!;
    expect(lisbon).toMatchObject({
      valid_to: '2024-08-20T09:30:00.000Z',
      superseded_by: porto.id,
      ended_in_session: s2,
    });
    expect((await learned()).map((m) => m.content).sort()).toEqual([
      'My daughter Mira is allergic to peanuts.',
      'We moved to Porto in August.',
    ]);

    const again = await deliver({ kind: 'learn', tenant_id: tenantId, session_id: s2, job_id: 'again' });
    expect(again.explicitAcks).toHaveLength(1);
    expect(await learned(true)).toHaveLength(3);

    // Deleting the session that moved the user takes its memory away and makes Lisbon current again.
    expect((await api(key, 'DELETE', `/v1/sessions/${s2}`)).status).toBe(204);
    expect((await learned()).map((m) => m.content).sort()).toEqual([
      'My daughter Mira is allergic to peanuts.',
      'We live in Lisbon.',
    ]);
  });
});
