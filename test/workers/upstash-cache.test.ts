// The Upstash cache adapter inside workerd, against the Upstash stand-in over the real Redis.
import { Redis } from '@upstash/redis/cloudflare';
import { describe, expect, it } from 'vitest';
import { indexedPrefixes, upstashCache } from '../../src/adapters/cache/upstash.js';
import { uid, workerEnv } from './helpers.js';

const redis = new Redis({ url: workerEnv.UPSTASH_REDIS_REST_URL, token: workerEnv.UPSTASH_REDIS_REST_TOKEN });
const cache = upstashCache(redis);

describe('upstash cache', () => {
  it('round-trips JSON values of every kind', async () => {
    const base = `ctx:${uid('t')}:s:`;
    // Strings that look like numbers or base64 are where a REST client could silently change a value.
    const values = [{ a: 1, nested: [true, null, 'x'] }, 'aGVsbG8=', '123', 42, [1, 2], ''];
    for (const [i, v] of values.entries()) await cache.set(`${base}k${i}`, v, 60);
    for (const [i, v] of values.entries()) expect(await cache.get(`${base}k${i}`)).toEqual(v);
    expect(await cache.get(`${base}missing`)).toBeUndefined();
  });

  it('sets the TTL on the key and keeps the index alive at least as long', async () => {
    const prefix = `ctx:${uid('t')}:s1:`;
    await cache.set(`${prefix}v1.0:a`, { x: 1 }, 100);
    await cache.set(`${prefix}v1.0:b`, { x: 2 }, 30);
    const keyTtl = await redis.ttl(`${prefix}v1.0:a`);
    expect(keyTtl).toBeGreaterThan(90);
    expect(keyTtl).toBeLessThanOrEqual(100);
    expect(await redis.ttl(`idx:${prefix}`)).toBeGreaterThanOrEqual(keyTtl);
  });

  it('deletes exactly the keys under a session prefix, ids with colons included', async () => {
    const tenant = uid('t');
    const keys = {
      a: [`ctx:${tenant}:a:v1.0:h1`, `ctx:${tenant}:a:v2.0:h2`],
      // A session id containing ':' whose prefix does not end at the third colon.
      ab: [`ctx:${tenant}:a:b:v1.0:h3`],
      other: [`ctx:${tenant}:other:v1.0:h4`],
    };
    for (const k of Object.values(keys).flat()) await cache.set(k, { k }, 60);

    await cache.deletePrefix(`ctx:${tenant}:a:b:`);
    for (const k of keys.ab) expect(await cache.get(k)).toBeUndefined();
    for (const k of [...keys.a, ...keys.other]) expect(await cache.get(k)).toEqual({ k });

    // Prefix semantics, like the in-memory cache: session "a" covers "a:b" too.
    await cache.set(keys.ab[0]!, { k: keys.ab[0] }, 60);
    await cache.deletePrefix(`ctx:${tenant}:a:`);
    for (const k of [...keys.a, ...keys.ab]) expect(await cache.get(k)).toBeUndefined();
    expect(await cache.get(keys.other[0]!)).toEqual({ k: keys.other[0] });
    expect(await redis.exists(`idx:ctx:${tenant}:a:`)).toBe(0);
  });

  it('refuses prefixes it has no index for, and reports a broken connection', async () => {
    await expect(cache.deletePrefix('ctx:')).rejects.toThrow(/cannot delete prefix/);
    const broken = upstashCache(new Redis({ url: workerEnv.UPSTASH_REDIS_REST_URL, token: 'wrong-token' }));
    await expect(broken.get('ctx:t:s:k')).rejects.toThrow();
    await expect(broken.set('ctx:t:s:k', 1, 10)).rejects.toThrow();
  });

  it('indexes every colon-terminated prefix from the third colon on', () => {
    expect(indexedPrefixes('ctx:t:s:v3.1:hash')).toEqual(['ctx:t:s:', 'ctx:t:s:v3.1:']);
    expect(indexedPrefixes('ctx:t:a:b:v1.0:h')).toEqual(['ctx:t:a:', 'ctx:t:a:b:', 'ctx:t:a:b:v1.0:']);
    expect(indexedPrefixes('ctx:t:x')).toEqual([]);
  });
});
