// Sliding-window rate limit per key for one process (the embedded default and single-node self-host): the
// previous window's count is weighted by how much of it still overlaps the last minute.
import type { RateLimiter } from '../../ports.js';

export function memoryRateLimiter(perMinute: number, now: () => number = Date.now): RateLimiter {
  const windowMs = 60_000;
  const counts = new Map<string, { window: number; current: number; previous: number }>();
  return {
    async limit(id) {
      const t = now();
      const window = Math.floor(t / windowMs);
      let entry = counts.get(id);
      if (!entry || entry.window < window - 1) entry = { window, current: 0, previous: 0 };
      else if (entry.window === window - 1) entry = { window, current: 0, previous: entry.current };
      const overlap = 1 - (t % windowMs) / windowMs;
      const used = entry.previous * overlap + entry.current;
      if (used + 1 > perMinute) {
        counts.set(id, entry);
        const retryAfterSeconds = Math.max(1, Math.ceil((windowMs - (t % windowMs)) / 1000));
        return { allowed: false, limit: perMinute, remaining: 0, retryAfterSeconds };
      }
      entry.current += 1;
      counts.set(id, entry);
      if (counts.size > 100_000) for (const [k, v] of counts) if (v.window < window - 1) counts.delete(k);
      return {
        allowed: true,
        limit: perMinute,
        remaining: Math.max(0, Math.floor(perMinute - used - 1)),
        retryAfterSeconds: 0,
      };
    },
  };
}
