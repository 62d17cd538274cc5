// Rate limits shared by every Worker isolate and region, kept in Upstash Redis.
import { Ratelimit } from '@upstash/ratelimit';
import type { Redis } from '@upstash/redis';
import type { RateLimiter } from '../../ports.js';

export function upstashRateLimiter(redis: Redis, perMinute: number): RateLimiter {
  const rl = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(perMinute, '60 s'), prefix: 'ratelimit' });
  return {
    async limit(id) {
      const r = await rl.limit(id);
      return {
        allowed: r.success,
        limit: r.limit,
        remaining: r.remaining,
        retryAfterSeconds: r.success ? 0 : Math.max(1, Math.ceil((r.reset - Date.now()) / 1000)),
      };
    },
  };
}
