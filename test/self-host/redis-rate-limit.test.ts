// The Node rate limiter on a self-hosted Redis: one count per key for every client of that Redis; an outage is an
// error, on which the middleware lets requests through.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/adapters/cache/redis.js';
import { redisRateLimiter } from '../../src/adapters/ratelimit/redis.js';

describe('the Redis rate limiter', () => {
  // Two connections stand for two instances.
  const one = connectRedis('redis://127.0.0.1:6379');
  const two = connectRedis('redis://127.0.0.1:6379');
  afterAll(() => {
    one.disconnect();
    two.disconnect();
  });

  it('counts every instance against one limit per key, and keys apart', async () => {
    await Promise.all(
      [one, two].map((c) => (c.status === 'ready' ? undefined : new Promise((r) => c.once('ready', r)))),
    );
    const key = `k-${randomUUID()}`;
    const [a, b] = [redisRateLimiter(one, 5), redisRateLimiter(two, 5)];
    const verdicts = [];
    for (let i = 0; i < 4; i++) verdicts.push(await a.limit(key), await b.limit(key));
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, true, true, false, false, false]);
    expect(verdicts[4]).toMatchObject({ allowed: true, limit: 5, remaining: 0 });
    expect(verdicts[5]!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(verdicts[5]!.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(await a.limit(`other-${key}`)).toMatchObject({ allowed: true, remaining: 4 });
  });

  it('throws while Redis is unreachable, so the middleware lets the request through', async () => {
    const down = connectRedis('redis://127.0.0.1:1');
    try {
      await expect(redisRateLimiter(down, 5).limit('k')).rejects.toThrow();
    } finally {
      down.disconnect();
    }
  });
});
