// Times every request and counts it by route pattern, method and status; the pattern (not the path) keeps the number
// of series bounded whatever ids clients send.
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Metrics } from '../../metrics.js';
import type { AppEnv } from '../app-env.js';

/** The pattern of the handler that answered; middleware entries (method ALL) are not handlers. */
function routeOf(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.method !== 'ALL') return routes[i]!.path;
  return 'unmatched';
}

/**
 * Middleware runs in the order it is registered, so requests that an earlier middleware answers itself (the /v1 key
 * check, rate limit, body limit) are only counted when this is registered before them.
 */
export function httpMetrics(metrics: Metrics | undefined): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!metrics) return next();
    const started = performance.now();
    try {
      await next();
    } finally {
      const labels = { route: routeOf(c), method: c.req.method, status: String(c.res.status) };
      metrics.httpRequestDuration.observe(labels, (performance.now() - started) / 1000);
      metrics.httpRequests.inc(labels);
    }
  };
}
