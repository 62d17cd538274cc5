// Faults against real parts: a PostgreSQL port nobody listens on, a model server that stalls, a consumer that throws.
import { createServer, type Server } from 'node:http';
import { createServer as netServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessQueue } from '../../src/adapters/queue/in-process.js';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { openPostgres } from '../../src/adapters/store/postgres.js';
import { createLogger } from '../../src/logger.js';
import type { Job } from '../../src/ports.js';
import { overdueCompressions } from '../../src/services/maintenance.js';
import { harness, tenant, type Harness } from '../helpers.js';

async function closedPort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('PostgreSQL unreachable', () => {
  it('answers 503 UNAVAILABLE quickly and stores nothing', async () => {
    const port = await closedPort();
    const h = await harness(() =>
      openPostgres(`postgres://postgres@127.0.0.1:${port}/none`, { migrate: false, connectTimeoutMs: 500 }),
    );
    const started = performance.now();
    const res = await h.app.request('/v1/sessions/x/context', {
      method: 'POST',
      headers: { authorization: 'Bearer whatever-key', 'content-type': 'application/json' },
      body: '{"budget_tokens":100}',
    });
    const elapsed = performance.now() - started;
    expect(res.status).toBe(503);
    expect(((await res.json()) as any).error.code).toBe('UNAVAILABLE');
    expect(elapsed).toBeLessThan(3_000);
    expect((await h.app.request('/healthz')).status).toBe(503);
    await h.close();
  });
});

describe('LLM slow or failing', () => {
  let server: Server;
  let h: Harness;
  beforeAll(async () => {
    // Accepts the request and never answers.
    server = createServer(() => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    h = await harness(() => openPglite(), {
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
      CONTEXT_LLM_TIMEOUT_MS: '300',
      CONTEXT_EMBEDDING_MODEL: 'none',
    });
  });
  afterAll(async () => {
    await h.close();
    server.closeAllConnections();
    server.close();
  });

  it('times out and falls back to the extractive summary', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/slow/turns', {
      turns: Array.from({ length: 12 }, (_, i) => ({
        role: 'user',
        content: `Shipment ${i} to Porto weighs ${i * 7} kg.`,
      })),
    });
    await c.call('POST', '/v1/sessions/slow/rebuild', { max_tokens: 200 });
    await h.deps.queue.drain();
    const audit = (await c.call('GET', '/v1/sessions/slow/compactions')).json.compactions;
    expect(audit[0].strategy).toBe('summarize:extractive');
    expect(audit[0].output).toContain('Shipment');
  });
});

describe('queue consumer failures', () => {
  it('retries a failing job with backoff, then dead-letters it; other jobs still run', async () => {
    const q = inProcessQueue(createLogger('silent'), { maxAttempts: 3, baseDelayMs: 5 });
    const seen: string[] = [];
    q.consume(async (job) => {
      seen.push(job.job_id);
      if (job.session_id === 'poison') throw new Error('cannot process');
    });
    await q.send({ kind: 'compress', mode: 'threshold', tenant_id: 't', session_id: 'poison', job_id: 'p' });
    await q.send({ kind: 'compress', mode: 'threshold', tenant_id: 't', session_id: 'fine', job_id: 'f' });
    await q.drain();
    expect(seen.filter((id) => id === 'p')).toHaveLength(3);
    expect(seen.filter((id) => id === 'f')).toHaveLength(1);
    expect(q.deadLetters).toEqual([
      expect.objectContaining({ job: expect.objectContaining({ job_id: 'p' }), attempts: 3, error: 'cannot process' }),
    ]);
  });

  it('a job for a deleted session does nothing and does not bring it back', async () => {
    const h = await harness(() => openPglite());
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/gone/turns', { turns: [{ role: 'user', content: 'soon deleted' }] });
    expect((await c.call('DELETE', '/v1/sessions/gone')).status).toBe(204);
    await h.deps.queue.send({
      kind: 'compress',
      mode: 'rebuild',
      tenant_id: c.tenantId,
      session_id: 'gone',
      job_id: 'late',
    });
    await h.deps.queue.drain();
    expect(h.deps.queue.deadLetters).toHaveLength(0);
    expect((await c.call('GET', '/v1/sessions/gone')).status).toBe(404);
    await h.close();
  });
});

describe('lost or repeated compression jobs', () => {
  it('a rebuild delivered twice compresses once', async () => {
    const h = await harness(() => openPglite());
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/rb/turns', {
      turns: Array.from({ length: 20 }, (_, i) => ({
        role: 'user',
        content: `Parcel ${i} left the depot in Braga at ${i}:00.`,
      })),
    });
    const sent: Job[] = [];
    const send = h.deps.queue.send.bind(h.deps.queue);
    h.deps.queue.send = async (job) => {
      sent.push(job);
      await send(job);
      await send(job); // the same message delivered again
    };
    await c.call('POST', '/v1/sessions/rb/rebuild', { max_tokens: 200 });
    await h.deps.queue.drain();
    const rebuild = sent.find((j) => j.kind === 'compress');
    expect(rebuild?.kind === 'compress' && rebuild.window_version).toBeGreaterThan(0);
    expect((await c.call('GET', '/v1/sessions/rb/compactions')).json.compactions).toHaveLength(1);
    await h.close();
  });

  it('the maintenance sweep re-queues a window whose enqueue was lost', async () => {
    const h = await harness(() => openPglite());
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/lost/turns', {
      turns: Array.from({ length: 20 }, (_, i) => ({
        role: 'user',
        content: `Meter reading ${i}: ${1000 + i * 13} kWh at site ${i % 4}.`,
      })),
    });
    await h.deps.queue.drain();
    // Shrink the window behind the service's back, as if the write's enqueue had been lost.
    await h.deps.store.query(
      sql`UPDATE context_windows SET max_tokens = 100 WHERE tenant_id = ${c.tenantId} AND session_id = 'lost'`,
    );
    expect((await c.call('GET', '/v1/sessions/lost/compactions')).json.compactions).toHaveLength(0);
    const jobs = await overdueCompressions(h.deps, 1000);
    expect(jobs.filter((j) => j.tenant_id === c.tenantId)).toEqual([
      expect.objectContaining({ session_id: 'lost', mode: 'threshold' }),
    ]);
    for (const job of jobs) await h.deps.queue.send(job);
    await h.deps.queue.drain();
    expect((await c.call('GET', '/v1/sessions/lost/compactions')).json.compactions).toHaveLength(1);
    expect((await overdueCompressions(h.deps, 1000)).filter((j) => j.tenant_id === c.tenantId)).toEqual([]);
    await h.close();
  });
});
