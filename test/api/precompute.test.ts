// The precompute job on Node's in-process queue: after a write the default context is assembled in the background,
// so the next default query is a cache hit; stale, duplicate and orphaned jobs change nothing.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { defaults } from '../../src/config/tuning.js';
import type { PrecomputeJob } from '../../src/ports.js';
import { runJob } from '../../src/jobs/run.js';
import { harness, tenant, turns3, type Harness } from '../helpers.js';

const defaultQuery = { budget_tokens: defaults.precomputeBudgetTokens };

function precompute(tenantId: string, sessionId: string, sessionVersion: number): PrecomputeJob {
  return {
    kind: 'precompute',
    tenant_id: tenantId,
    session_id: sessionId,
    session_version: sessionVersion,
    job_id: crypto.randomUUID(),
  };
}

/** Counts cache writes from here on; the returned function stops counting. */
function countCacheWrites(h: Harness) {
  const spy = vi.spyOn(h.deps.cache, 'set');
  return { count: () => spy.mock.calls.length, restore: () => spy.mockRestore() };
}

describe('precompute on PGlite', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(() => openPglite());
  });
  afterAll(async () => h.close());

  it('a default query right after a write is served from the cache the queue filled', async () => {
    const c = await tenant(h);
    const sent: string[] = [];
    const send = h.deps.queue.send.bind(h.deps.queue);
    h.deps.queue.send = async (job) => {
      sent.push(job.kind);
      await send(job);
    };
    try {
      expect((await c.call('POST', '/v1/sessions/p1/turns', { turns: turns3 })).status).toBe(201);
    } finally {
      h.deps.queue.send = send;
    }
    expect(sent).toEqual(['precompute']);
    await h.deps.queue.drain();

    const r = await c.call('POST', '/v1/sessions/p1/context', defaultQuery);
    expect(r.status).toBe(200);
    expect(r.json.cached).toBe(true);
    expect(r.json.session_version).toBe(1);
    expect(r.json.token_count).toBeLessThanOrEqual(defaults.precomputeBudgetTokens);
    expect(r.json.rendered.text).toContain('Alfama');
    // The answer carries the caller's request id, not the job's.
    expect(r.json.request_id).toBe(r.headers.get('x-request-id'));
    // Only the default request is prepared; any other is assembled on demand.
    expect((await c.call('POST', '/v1/sessions/p1/context', { budget_tokens: 1500 })).json.cached).toBe(false);

    // The next write invalidates it and prepares the next one.
    await c.call('POST', '/v1/sessions/p1/turns', {
      turns: [{ role: 'user', content: 'Make that 140 euros per night.' }],
    });
    await h.deps.queue.drain();
    const after = await c.call('POST', '/v1/sessions/p1/context', defaultQuery);
    expect(after.json).toMatchObject({ cached: true, session_version: 2 });
    expect(after.json.rendered.text).toContain('140 euros');
  });

  it('skips a job whose session moved on, and a job delivered twice only reads the cache', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/p2/turns', { turns: turns3 });
    await c.call('POST', '/v1/sessions/p2/turns', { turns: [{ role: 'assistant', content: 'Noted.' }] });
    await h.deps.queue.drain();

    const writes = countCacheWrites(h);
    try {
      expect(await runJob(h.deps, precompute(c.tenantId, 'p2', 1))).toMatchObject({ status: 'skipped' });
      expect(writes.count()).toBe(0);
      // The current version was prepared by the drained job: a redelivery finds it cached.
      expect(await runJob(h.deps, precompute(c.tenantId, 'p2', 2))).toMatchObject({
        status: 'precomputed',
        reason: 'already cached',
      });
      expect(writes.count()).toBe(0);
    } finally {
      writes.restore();
    }
    expect(await runJob(h.deps, precompute(c.tenantId, 'no-such-session', 1))).toMatchObject({
      status: 'skipped',
      reason: 'session no longer exists',
    });
  });

  it('compresses a window over its limit before preparing the context', async () => {
    const c = await tenant(h);
    const turns = Array.from({ length: 20 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `Leg ${i}: the train from Porto reaches stop ${i} at ${8 + i}:15.`,
    }));
    await c.call('POST', '/v1/sessions/p3/turns', { turns });
    await h.deps.queue.drain();
    // Over its limit with no compression queued, as if that job had been lost.
    await h.deps.store.query(
      sql`UPDATE context_windows SET max_tokens = 100 WHERE tenant_id = ${c.tenantId} AND session_id = 'p3'`,
    );

    expect(await runJob(h.deps, precompute(c.tenantId, 'p3', 1))).toMatchObject({
      status: 'precomputed',
      session_version: 2,
    });
    expect((await c.call('GET', '/v1/sessions/p3/compactions')).json.compactions).toHaveLength(1);
    const r = await c.call('POST', '/v1/sessions/p3/context', defaultQuery);
    expect(r.json).toMatchObject({ cached: true, session_version: 2 });
    expect(r.json.envelope.relevant_history.some((x: any) => x.source === 'summary')).toBe(true);
  });

  it('a compression queued by a write is followed by a precompute of the compressed window', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/p4/turns', { turns: turns3 });
    expect((await c.call('POST', '/v1/sessions/p4/rebuild', { max_tokens: 200 })).status).toBe(202);
    await h.deps.queue.drain();
    const written = await c.call('POST', '/v1/sessions/p4/turns', {
      turns: Array.from({ length: 16 }, (_, i) => ({
        role: 'user',
        content: `Extra note ${i}: tram 28 leaves Martim Moniz every ${10 + i} minutes, climbs to Graça and ends at Campo de Ourique.`,
      })),
    });
    expect(written.json.compression_queued).toBe(true);
    await h.deps.queue.drain();
    const s = await c.call('GET', '/v1/sessions/p4');
    const r = await c.call('POST', '/v1/sessions/p4/context', defaultQuery);
    expect(r.json.cached).toBe(true);
    expect(r.json.session_version).toBe(s.json.version);
  });

  it('a precompute queued before a rebuild does not pre-empt it', async () => {
    const c = await tenant(h);
    const turns = Array.from({ length: 12 }, (_, i) => ({
      role: 'user',
      content: `Parcel ${i} left the depot in Braga at ${i}:00 for Faro.`,
    }));
    await c.call('POST', '/v1/sessions/p6/turns', { turns });
    // The write's precompute is still queued when the limit drops below the window's size.
    expect((await c.call('POST', '/v1/sessions/p6/rebuild', { max_tokens: 200, strategy: 'truncate' })).status).toBe(
      202,
    );
    await h.deps.queue.drain();
    const audit = (await c.call('GET', '/v1/sessions/p6/compactions')).json.compactions;
    expect(audit.map((a: any) => a.reason)).toEqual(['rebuild']);
    expect((await c.call('POST', '/v1/sessions/p6/context', defaultQuery)).json.cached).toBe(true);
  });

  it('a failed enqueue never fails the write', async () => {
    const c = await tenant(h);
    const send = h.deps.queue.send;
    h.deps.queue.send = async () => {
      throw new Error('queue unavailable');
    };
    try {
      const w = await c.call('POST', '/v1/sessions/p5/turns', { turns: turns3 });
      expect(w.status).toBe(201);
      expect(w.json.turns).toHaveLength(3);
    } finally {
      h.deps.queue.send = send;
    }
    expect((await c.call('POST', '/v1/sessions/p5/context', defaultQuery)).json.cached).toBe(false);
  });
});
