// The queue and cron handlers, called directly with the Workers test helpers so each outcome can be inspected.
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runtimeFor, type WorkerEnv } from '../../functions/env.js';
import worker from '../../functions/worker.js';
import type { CompressJob, Job } from '../../src/ports.js';
import { api, fillerTurns, newTenant, uid, workerEnv } from './helpers.js';

const QUEUE = 'context-jobs';
const DLQ = 'context-jobs-dlq';

function job(tenantId: string, sessionId: string, mode: CompressJob['mode'] = 'threshold'): CompressJob {
  return { kind: 'compress', mode, tenant_id: tenantId, session_id: sessionId, job_id: crypto.randomUUID() };
}

async function deliver(queue: string, bodies: unknown[], attempts = 1, env: WorkerEnv = workerEnv) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body, i) => ({
      id: `msg-${i}-${crypto.randomUUID().slice(0, 6)}`,
      timestamp: new Date(),
      attempts,
      body,
    })),
  );
  // getQueueResult reports which messages were retried but drops the retry options; the spies keep them.
  const retries = batch.messages.map((m) => vi.spyOn(m, 'retry'));
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return { batch, retries, result: await getQueueResult(batch, ctx) };
}

/** A session whose window is over its limit with no job pending: the limit is lowered in SQL, not via rebuild. */
async function overflowingSession(tenantId: string, key: string) {
  const session = uid('sess');
  expect((await api(key, 'POST', `/v1/sessions/${session}/turns`, { turns: fillerTurns(8) })).status).toBe(201);
  const { deps } = await runtimeFor(workerEnv);
  await deps.store.query(
    sql`UPDATE context_windows SET max_tokens = 200 WHERE tenant_id = ${tenantId} AND session_id = ${session}`,
  );
  return session;
}

async function windowState(tenantId: string, session: string) {
  const { deps } = await runtimeFor(workerEnv);
  const [row] = await deps.store.query<{ version: number; compactions: number }>(sql`
    SELECT w.version, (SELECT count(*)::int FROM compactions c WHERE c.tenant_id = w.tenant_id AND c.session_id = w.session_id) AS compactions
    FROM context_windows w WHERE w.tenant_id = ${tenantId} AND w.session_id = ${session}`);
  return { version: Number(row?.version), compactions: Number(row?.compactions) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('queue consumer', () => {
  it('acks a job, and the same job delivered again changes nothing', async () => {
    const { tenantId, key } = await newTenant('idem');
    const session = await overflowingSession(tenantId, key);
    const before = await windowState(tenantId, session);
    const j = job(tenantId, session);

    const first = await deliver(QUEUE, [j]);
    expect(first.result.outcome).toBe('ok');
    expect(first.result.explicitAcks).toEqual([first.batch.messages[0]!.id]);
    expect(first.result.retryMessages).toEqual([]);
    const afterFirst = await windowState(tenantId, session);
    expect(afterFirst.compactions).toBe(before.compactions + 1);
    expect(afterFirst.version).toBeGreaterThan(before.version);

    const second = await deliver(QUEUE, [j]);
    expect(second.result.explicitAcks).toEqual([second.batch.messages[0]!.id]);
    expect(await windowState(tenantId, session)).toEqual(afterFirst);
  });

  it('retries only the message whose job throws, with backoff on its attempts', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { tenantId, key } = await newTenant('retry');
    const session = await overflowingSession(tenantId, key);
    // PostgreSQL rejects a NUL byte in text, so this job fails inside runJob on every attempt.
    const failing = job(tenantId, 'bad\u0000session');
    const good = job(tenantId, session);

    const { batch, retries, result } = await deliver(QUEUE, [failing, good], 3);
    const [failingMsg, goodMsg] = batch.messages;
    expect(result.retryBatch.retry).toBe(false);
    expect(result.ackAll).toBe(false);
    expect(result.retryMessages).toEqual([{ msgId: failingMsg!.id }]);
    expect(result.explicitAcks).toEqual([goodMsg!.id]);
    // Third attempt: 10 s · 2².
    expect(retries[0]).toHaveBeenCalledWith({ delaySeconds: 40 });
    expect(retries[1]).not.toHaveBeenCalled();
    expect(logged.mock.calls.map((c) => JSON.parse(String(c[0])).msg)).toContain('job failed, retrying');
    expect((await windowState(tenantId, session)).compactions).toBe(1);
  });

  it('acks a malformed message instead of retrying it forever', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { batch, result } = await deliver(QUEUE, [{ kind: 'unknown' }]);
    expect(result.explicitAcks).toEqual([batch.messages[0]!.id]);
    expect(result.retryMessages).toEqual([]);
    expect(JSON.parse(String(errors.mock.calls[0]?.[0]))).toMatchObject({
      level: 'error',
      msg: 'malformed job dropped',
    });
  });

  it('records dead letters as structured logs and acks them', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const j = job('some-tenant', 'some-session');
    const { batch, result } = await deliver(DLQ, [j], 6);
    expect(result.explicitAcks).toEqual([batch.messages[0]!.id]);
    expect(result.retryMessages).toEqual([]);
    const logged = JSON.parse(String(errors.mock.calls[0]?.[0]));
    expect(logged).toMatchObject({ level: 'error', msg: 'job dead-lettered', queue: DLQ, attempts: 6, job: j });
  });
});

describe('scheduled maintenance', () => {
  it('queues a threshold compression for a window past its limit', async () => {
    const { tenantId, key } = await newTenant('cron');
    const session = await overflowingSession(tenantId, key);
    const { deps } = await runtimeFor(workerEnv);
    // Sort this session first among everything in the shared database (LIMIT 100, largest overflow first).
    await deps.store.query(
      sql`UPDATE sessions SET total_tokens = 2000000000 WHERE tenant_id = ${tenantId} AND id = ${session}`,
    );

    const sent: { body: Job; contentType?: string }[][] = [];
    const env = {
      ...workerEnv,
      JOBS: {
        ...workerEnv.JOBS,
        sendBatch: async (messages: { body: Job; contentType?: string }[]) => void sent.push(messages),
      },
    } as unknown as WorkerEnv;
    await worker.scheduled(createScheduledController({ cron: '*/5 * * * *' }), env);

    expect(sent).toHaveLength(1);
    expect(sent[0]!.length).toBeLessThanOrEqual(100);
    const mine = sent[0]!.find((m) => m.body.tenant_id === tenantId);
    expect(mine).toMatchObject({
      contentType: 'json',
      body: { kind: 'compress', mode: 'threshold', session_id: session },
    });
    expect(mine!.body.job_id).toMatch(/^[0-9a-f-]{36}$/);

    // Leave nothing that would sort first for other runs.
    expect((await api(key, 'DELETE', `/v1/sessions/${session}`)).status).toBe(204);
  });
});
