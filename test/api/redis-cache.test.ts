// Node on PostgreSQL + the real Redis: two instances share the cache and see each other's invalidations; deletes
// leave nothing in Redis; with Redis unreachable every request is still served from PostgreSQL.
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeApiKey } from '../../src/services/auth.js';
import { harness, backends, clientFor, tenant, turns3, type Harness } from '../helpers.js';

const postgres = backends[1].open;

describe('Redis cache on PostgreSQL', () => {
  let one: Harness;
  let two: Harness;
  let redis: Redis;
  beforeAll(async () => {
    one = await harness(postgres, { REDIS_URL: 'redis://127.0.0.1:6379' });
    two = await harness(postgres, { REDIS_URL: 'redis://127.0.0.1:6379' });
    redis = new Redis('redis://127.0.0.1:6379');
  });
  afterAll(async () => {
    await one.close();
    await two.close();
    redis.disconnect();
  });

  it('serves a second instance from the shared cache and invalidates across instances', async () => {
    const a = await tenant(one);
    const b = clientFor(two, a.tenantId, a.key);
    await a.call('POST', '/v1/sessions/r1/turns', { turns: turns3 });
    const q = { query: 'budget per night', budget_tokens: 400 };
    expect((await a.call('POST', '/v1/sessions/r1/context', q)).json.cached).toBe(false);
    const fromTwo = await b.call('POST', '/v1/sessions/r1/context', q);
    expect(fromTwo.json.cached).toBe(true);
    expect((await redis.keys(`ctx:${a.tenantId}:r1:*`)).length).toBeGreaterThan(0);
    // A write through instance two is seen by instance one at once.
    await b.call('POST', '/v1/sessions/r1/turns', {
      turns: [{ role: 'user', content: 'New budget per night: 99 euros.' }],
    });
    const after = await a.call('POST', '/v1/sessions/r1/context', q);
    expect(after.json.cached).toBe(false);
    expect(after.json.rendered.text).toContain('99 euros');
  });

  it('a key revoked on one instance is refused at once by another that remembered its lookup', async () => {
    const a = await tenant(one);
    const b = clientFor(two, a.tenantId, a.key);
    expect((await b.call('POST', '/v1/sessions/k1/turns', { turns: turns3 })).status).toBe(201);
    // Remembered by instance two now; the database row alone no longer decides there.
    expect((await b.call('GET', '/v1/sessions/k1')).status).toBe(200);
    const [row] = await one.deps.store.query<{ id: string }>(
      sql`SELECT id FROM api_keys WHERE tenant_id = ${a.tenantId}`,
    );
    await revokeApiKey(one.deps, row!.id);
    expect((await b.call('GET', '/v1/sessions/k1')).status).toBe(401);
    expect((await a.call('GET', '/v1/sessions/k1')).status).toBe(401);
  });

  it('deleting a session removes its cache entries and index from Redis', async () => {
    const a = await tenant(one);
    await a.call('POST', '/v1/sessions/gone/turns', { turns: turns3 });
    await a.call('POST', '/v1/sessions/gone/context', { query: 'Alfama', budget_tokens: 300 });
    await a.call('POST', '/v1/sessions/gone/context', { query: 'Lisbon', budget_tokens: 300 });
    expect((await redis.keys(`*${a.tenantId}:gone:*`)).length).toBeGreaterThan(0);
    expect((await a.call('DELETE', '/v1/sessions/gone')).status).toBe(204);
    expect(await redis.keys(`*${a.tenantId}:gone:*`)).toEqual([]);
  });
});

describe('Redis unreachable', () => {
  it('serves every request from PostgreSQL', async () => {
    const s = netServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const h = await harness(postgres, { REDIS_URL: `redis://127.0.0.1:${port}` });
    try {
      const c = await tenant(h);
      expect((await c.call('POST', '/v1/sessions/nr/turns', { turns: turns3 })).status).toBe(201);
      for (let i = 0; i < 3; i++) {
        const r = await c.call('POST', '/v1/sessions/nr/context', { query: 'Alfama', budget_tokens: 300 });
        expect(r.status).toBe(200);
        expect(r.json.cached).toBe(false);
        expect(r.json.rendered.text).toContain('Alfama');
      }
      expect((await c.call('DELETE', '/v1/sessions/nr')).status).toBe(204);
    } finally {
      await h.close();
    }
  });
});

describe('PostgreSQL without Redis', () => {
  it('two instances with their own caches still refuse a revoked key at once', async () => {
    const one = await harness(postgres);
    const two = await harness(postgres);
    try {
      const a = await tenant(one);
      const b = clientFor(two, a.tenantId, a.key);
      expect((await b.call('POST', '/v1/sessions/k2/turns', { turns: turns3 })).status).toBe(201);
      const [row] = await one.deps.store.query<{ id: string }>(
        sql`SELECT id FROM api_keys WHERE tenant_id = ${a.tenantId}`,
      );
      await revokeApiKey(one.deps, row!.id);
      expect((await b.call('GET', '/v1/sessions/k2')).status).toBe(401);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
