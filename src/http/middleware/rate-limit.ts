// Per-key request limits on /v1 (admin requests are not limited); a limiter that is down lets requests through.
import type { MiddlewareHandler } from 'hono';
import type { Deps } from '../../ports.js';
import type { AppEnv } from '../app-env.js';
import { errorResponse } from '../errors.js';

export function rateLimit(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get('principal');
    if (!deps.rateLimiter || principal.keyId === 'admin') return next();
    let verdict;
    try {
      verdict = await deps.rateLimiter.limit(principal.keyId);
    } catch (err) {
      // A limiter outage must not take the API down with it.
      deps.logger.warn('rate limiter unavailable; request allowed', { error: (err as Error).message });
      return next();
    }
    if (!verdict.allowed) {
      const res = errorResponse(
        c.get('requestId'),
        'RATE_LIMITED',
        `rate limit of ${verdict.limit} requests per minute reached for this key`,
      );
      res.headers.set('Retry-After', String(verdict.retryAfterSeconds));
      return res;
    }
    c.header('RateLimit-Limit', String(verdict.limit));
    c.header('RateLimit-Remaining', String(verdict.remaining));
    await next();
  };
}
