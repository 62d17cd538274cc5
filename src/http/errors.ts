// The error responses of the API: one body shape for handlers, middleware, the validation hook and the app's
// error and not-found handlers.
import type { Hook } from '@hono/zod-openapi';
import type { ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError, type ErrorBody, type ErrorCode, fromStorageError, statusOf } from '../errors.js';
import type { Deps } from '../ports.js';
import type { AppEnv } from './app-env.js';

export function errorResponse(requestId: string, code: ErrorCode, message: string, details?: unknown): Response {
  const body: ErrorBody = {
    error: { code, message, request_id: requestId, ...(details === undefined ? {} : { details }) },
  };
  return new Response(JSON.stringify(body), {
    status: statusOf[code],
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId },
  });
}

/** A request that fails its route's zod schema: BAD_REQUEST naming the first issue, with up to 20 issues. */
export const validationHook: Hook<any, AppEnv, any, any> = (result, c) => {
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    return errorResponse(c.get('requestId'), 'BAD_REQUEST', `${where}${issue?.message ?? 'invalid request'}`, {
      issues: result.error.issues.slice(0, 20).map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
};

/** Whatever a handler or middleware throws: API errors as they are, storage failures mapped, the rest a 500. */
export function errorHandler(deps: Deps): ErrorHandler<AppEnv> {
  return (err, c) => {
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
  };
}

export const notFoundHandler: NotFoundHandler<AppEnv> = (c) =>
  errorResponse(c.get('requestId'), 'NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`);
