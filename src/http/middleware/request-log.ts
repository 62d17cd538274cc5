// One log line per request (except health checks), with its ids, status and duration.
import type { MiddlewareHandler } from 'hono';
import type { Deps } from '../../ports.js';
import type { AppEnv } from '../app-env.js';

export function requestLog(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    if (c.req.path !== '/healthz')
      deps.logger.info('request', {
        request_id: c.get('requestId'),
        client_request_id: c.get('clientRequestId'),
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
      });
  };
}
