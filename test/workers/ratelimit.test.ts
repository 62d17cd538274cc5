// The shared rate limiter inside workerd, through @upstash/ratelimit against the Upstash stand-in over real Redis.
import { Redis } from '@upstash/redis/cloudflare';
import { describe, expect, it } from 'vitest';
import { upstashRateLimiter } from '../../src/adapters/ratelimit/upstash.js';
import { uid, workerEnv } from './helpers.js';

const redis = new Redis({ url: workerEnv.UPSTASH_REDIS_REST_URL, token: workerEnv.UPSTASH_REDIS_REST_TOKEN });

describe('upstash rate limiter', () => {
  it('allows the limit per key per minute, then refuses with a retry delay', async () => {
    const limiter = upstashRateLimiter(redis, 3);
    const key = uid('key');
    const verdicts = [];
    for (let i = 0; i < 5; i++) verdicts.push(await limiter.limit(key));
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, true, false, false]);
    expect(verdicts[4]!.retryAfterSeconds).toBeGreaterThan(0);
    expect(verdicts[4]!.retryAfterSeconds).toBeLessThanOrEqual(60);
    // Another key has its own allowance, and a second limiter instance (another isolate) shares the counts.
    expect((await limiter.limit(uid('key'))).allowed).toBe(true);
    expect((await upstashRateLimiter(redis, 3).limit(key)).allowed).toBe(false);
  });
});
