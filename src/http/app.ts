// The app factory: OpenAPI, request ids, body limits, auth, the per-request service context and one error
// handler are set up here once; route modules only declare a route and a thin handler.
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { limits } from '../config.js';
import { ApiError, ErrorBody, fromStorageError, statusOf, type ErrorCode } from '../errors.js';
import type { Ctx, Deps } from '../ports.js';
import { Id } from '../schemas/common.js';
import { inputGuard } from './input-guard.js';
import { httpMetrics } from './metrics-middleware.js';
import { authenticate, authenticateAdmin, type Principal, type Scope } from '../services/auth.js';

export interface AppEnv {
  Variables: { ctx: Ctx; principal: Principal; requestId: string; clientRequestId: string | undefined };
}
export type App = OpenAPIHono<AppEnv>;

export function newApp(deps: Deps): App {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
        return errorResponse(c.get('requestId'), 'BAD_REQUEST', `${where}${issue?.message ?? 'invalid request'}`, {
          issues: result.error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message })),
        });
      }
    },
  });

  // The request id is always made here: traces and their evaluations are keyed by it, so a caller must not be able
  // to choose or reuse one. A caller's own X-Request-Id is kept for correlation only: when it passes the `Id` rule
  // (else it is dropped) it is echoed as X-Client-Request-Id, logged, and recorded in a query's trace.
  app.use('*', async (c, next) => {
    const id = crypto.randomUUID();
    const own = Id.safeParse(c.req.header('X-Request-Id'));
    c.set('requestId', id);
    c.set('clientRequestId', own.success ? own.data : undefined);
    await next();
    // Set on the final response, whichever way it was made (a handler, a middleware's refusal or the error handler).
    c.header('X-Request-Id', id);
    if (own.success) c.header('X-Client-Request-Id', own.data);
  });
  // Before auth and limits, so refused requests (401, 413, 429) are measured too.
  app.use('*', httpMetrics(deps.metrics));
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    if (c.req.path !== '/healthz')
      deps.logger.info('request', {
        request_id: c.get('requestId'), client_request_id: c.get('clientRequestId'), method: c.req.method,
        path: c.req.path, status: c.res.status, ms: Math.round((performance.now() - started) * 10) / 10,
      });
  });
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: limits.bodyBytes,
      onError: (c) => errorResponse(c.get('requestId'), 'PAYLOAD_TOO_LARGE', `request body is over ${limits.bodyBytes} bytes`),
    }),
  );
  app.use('/v1/admin/*', async (c, next) => {
    await authenticateAdmin(deps.env.CONTEXT_ADMIN_KEY, c.req.header('Authorization'));
    c.set('principal', { tenantId: '', keyId: 'admin', scopes: ['admin'] });
    c.set('ctx', { ...deps, tenantId: '', requestId: c.get('requestId'), logger: deps.logger.child({ request_id: c.get('requestId'), admin: true }) });
    await next();
  });
  app.use('/v1/*', async (c, next) => {
    if (c.req.path.startsWith('/v1/admin/')) return next();
    const principal = await authenticate(deps, c.req.header('Authorization'));
    c.set('principal', principal);
    c.set('ctx', {
      ...deps,
      tenantId: principal.tenantId,
      requestId: c.get('requestId'),
      clientRequestId: c.get('clientRequestId'),
      logger: deps.logger.child({ request_id: c.get('requestId'), tenant_id: principal.tenantId }),
    });
    await next();
  });
  app.use('/v1/*', async (c, next) => {
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
      const res = errorResponse(c.get('requestId'), 'RATE_LIMITED', `rate limit of ${verdict.limit} requests per minute reached for this key`);
      res.headers.set('Retry-After', String(verdict.retryAfterSeconds));
      return res;
    }
    c.header('RateLimit-Limit', String(verdict.limit));
    c.header('RateLimit-Remaining', String(verdict.remaining));
    await next();
  });
  app.use('/v1/*', inputGuard);

  app.onError((err, c) => {
    const rid = c.get('requestId') ?? 'unknown';
    if (err instanceof ApiError) return errorResponse(rid, err.code, err.message, err.details);
    if (err instanceof HTTPException) {
      const code = (Object.entries(statusOf).find(([, s]) => s === err.status)?.[0] ?? 'BAD_REQUEST') as ErrorCode;
      const message = err.status === 400 && /JSON/i.test(err.message) ? 'malformed JSON in request body' : err.message;
      return errorResponse(rid, code, message || code.toLowerCase());
    }
    const mapped = fromStorageError(err);
    // The error itself is logged as a summary (see logger.ts): a query error's message holds its parameters.
    if (mapped) {
      deps.logger.warn('storage error', { request_id: rid, code: mapped.code, error: err });
      return errorResponse(rid, mapped.code, mapped.message);
    }
    deps.logger.error('unhandled error', { request_id: rid, error: err, stack: err.stack });
    return errorResponse(rid, 'INTERNAL', 'internal error; the request id identifies it in the logs');
  });
  app.notFound((c) => errorResponse(c.get('requestId'), 'NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`));
  return app;
}

export function errorResponse(requestId: string, code: ErrorCode, message: string, details?: unknown): Response {
  const body: ErrorBody = { error: { code, message, request_id: requestId, ...(details === undefined ? {} : { details }) } };
  return new Response(JSON.stringify(body), {
    status: statusOf[code],
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId },
  });
}

/** Route middleware: the key must carry this scope (admin keys carry every scope). */
export function requireScope(scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { scopes } = c.get('principal');
    if (!scopes.includes(scope) && !scopes.includes('admin'))
      throw new ApiError('FORBIDDEN', `this key lacks the "${scope}" scope`);
    await next();
  };
}

/** A JSON request body, required, for createRoute. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** The error responses every /v1 route can give, for the OpenAPI document. */
export const errorResponses = Object.fromEntries(
  ([400, 401, 403, 404, 409, 413, 503] as const).map((status) => [
    status,
    jsonResponse(ErrorBody, Object.entries(statusOf).find(([, s]) => s === status)![0]),
  ]),
) as Record<400 | 401 | 403 | 404 | 409 | 413 | 503, ReturnType<typeof jsonResponse<typeof ErrorBody>>>;

export const security = [{ bearer: [] }];
