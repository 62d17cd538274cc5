// Request ids: one made here for every request; the caller's own X-Request-Id is kept for correlation only.
import type { MiddlewareHandler } from 'hono';
import { Id } from '../../schemas/common.js';
import type { AppEnv } from '../app-env.js';

/**
 * The request id is always made here: traces and their evaluations are keyed by it, so a caller must not be able
 * to choose or reuse one. A caller's own X-Request-Id is kept for correlation only: when it passes the `Id` rule
 * (else it is dropped) it is echoed as X-Client-Request-Id, logged, and recorded in a query's trace.
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const id = crypto.randomUUID();
    const own = Id.safeParse(c.req.header('X-Request-Id'));
    c.set('requestId', id);
    c.set('clientRequestId', own.success ? own.data : undefined);
    await next();
    // Set on the final response, whichever way it was made (a handler, a middleware's refusal or the error handler).
    c.header('X-Request-Id', id);
    if (own.success) c.header('X-Client-Request-Id', own.data);
  };
}
