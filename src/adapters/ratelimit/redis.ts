// Rate limits shared by every Node instance on one self-hosted Redis (REDIS_URL): a fixed 60 s window per key,
// counted atomically in Redis by rate-limiter-flexible over the instance's ioredis connection.
import type { Redis as IORedis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiter } from '../../ports.js';

export function redisRateLimiter(client: IORedis, perMinute: number): RateLimiter {
  // While Redis is down a call fails at once (rejectIfRedisNotReady) and the middleware lets the request through.
  const rl = new RateLimiterRedis({
    storeClient: client,
    points: perMinute,
    duration: 60,
    keyPrefix: 'ratelimit:node',
    rejectIfRedisNotReady: true,
  });
  return {
    async limit(id) {
      try {
        const r = await rl.consume(id);
        return { allowed: true, limit: perMinute, remaining: r.remainingPoints, retryAfterSeconds: 0 };
      } catch (err) {
        // A refusal rejects with the counter's state; anything else is an outage.
        if (!(err instanceof RateLimiterRes)) throw err;
        return {
          allowed: false,
          limit: perMinute,
          remaining: 0,
          retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)),
        };
      }
    },
  };
}
