// Turn vectors in workerd (ADR 0012): a Worker with an OpenAI-compatible embedding model (a stand-in) embeds turns from
// its queue consumer, stores each once through the Neon driver however often delivered, and answers queries with them.
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { runtimeFor, type WorkerEnv } from '../../functions/env.js';
import worker from '../../functions/worker.js';
import type { EmbedJob } from '../../src/ports.js';
import { apiOn, fillerTurns, newTenant, uid, workerEnv } from './helpers.js';

// Not a setting of the Worker: where the stand-in receiver (and embedding model) listens.
const receiver = (workerEnv as unknown as { TEST_WEBHOOK_RECEIVER_URL: string }).TEST_WEBHOOK_RECEIVER_URL;
const withModel: WorkerEnv = {
  ...workerEnv,
  OPENAI_API_KEY: 'sk-test',
  OPENAI_BASE_URL: `${receiver}/v1`,
  CONTEXT_EMBEDDING_MODEL: 'stand-in',
} as WorkerEnv;

async function deliver(job: EmbedJob) {
  const batch = createMessageBatch('context-jobs', [
    { id: `msg-${crypto.randomUUID().slice(0, 6)}`, timestamp: new Date(), attempts: 1, body: job },
  ]);
  const ctx = createExecutionContext();
  await worker.queue(batch, withModel);
  return getQueueResult(batch, ctx);
}

async function vectorCount(tenantId: string, session: string) {
  const { deps } = await runtimeFor(withModel);
  const [row] = await deps.store.query<{ n: number }>(sql`
    SELECT count(*)::int AS n FROM turn_vectors WHERE tenant_id = ${tenantId} AND session_id = ${session} AND model = 'stand-in'`);
  return Number(row?.n);
}

describe('turn vectors on Workers', () => {
  it('embeds from the queue consumer, once however often the job is delivered, and queries use them', async () => {
    const { tenantId, key } = await newTenant('vec');
    const session = uid('sess');
    const turns = [
      ...fillerTurns(6),
      { role: 'user', content: 'The shipment of violins arrives in Porto on Thursday.' },
    ];
    expect((await apiOn(withModel, key, 'POST', `/v1/sessions/${session}/turns`, { turns })).status).toBe(201);

    const job: EmbedJob = { kind: 'embed', tenant_id: tenantId, session_id: session, job_id: crypto.randomUUID() };
    const first = await deliver(job);
    expect(first.outcome).toBe('ok');
    expect(first.retryMessages).toEqual([]);
    expect(await vectorCount(tenantId, session)).toBe(turns.length);
    await deliver({ ...job, job_id: crypto.randomUUID() });
    expect(await vectorCount(tenantId, session)).toBe(turns.length);

    const q = await apiOn<any>(withModel, key, 'POST', `/v1/sessions/${session}/context`, {
      query: 'When do the violins arrive?',
      budget_tokens: 300,
    });
    expect(q.status).toBe(200);
    expect(q.body.rendered.text).toContain('violins arrives in Porto');
    const calls = (await (await fetch(`${receiver}/deliveries/v1/embeddings`)).json()) as { body: string }[];
    expect(
      calls.some((c) => JSON.stringify(JSON.parse(c.body).input) === JSON.stringify(['When do the violins arrive?'])),
    ).toBe(true);
  });
});
