// The app factory: OpenAPI, the middleware (in the order it runs) and the error handlers are set up here once;
// route modules only declare a route and a thin handler.
import { OpenAPIHono, type z } from '@hono/zod-openapi';
import { ErrorBody, statusOf } from '../errors.js';
import type { Deps } from '../ports.js';
import type { AppEnv } from './app-env.js';
import { errorHandler, notFoundHandler, validationHook } from './errors.js';
import { adminAuth, keyAuth } from './middleware/auth.js';
import { bodySizeLimit } from './middleware/body-limit.js';
import { inputGuard } from './middleware/input-guard.js';
import { httpMetrics } from './middleware/metrics.js';
import { rateLimit } from './middleware/rate-limit.js';
import { requestId } from './middleware/request-id.js';
import { requestLog } from './middleware/request-log.js';

export type App = OpenAPIHono<AppEnv>;

export function newApp(deps: Deps): App {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use('*', requestId());
  // Before auth and limits, so refused requests (401, 413, 429) are measured too.
  app.use('*', httpMetrics(deps.metrics));
  app.use('*', requestLog(deps));
  app.use('/v1/*', bodySizeLimit());
  app.use('/v1/admin/*', adminAuth(deps));
  app.use('/v1/*', keyAuth(deps));
  app.use('/v1/*', rateLimit(deps));
  app.use('/v1/*', inputGuard);

  app.onError(errorHandler(deps));
  app.notFound(notFoundHandler);
  return app;
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

const errorStatuses = [400, 401, 403, 404, 409, 413, 415, 429, 500, 503] as const;
type ErrorStatus = (typeof errorStatuses)[number];

/** The error responses every /v1 route can give, for the OpenAPI document; a 429 says when to retry. */
export const errorResponses = Object.fromEntries(
  errorStatuses.map((status) => {
    const response = jsonResponse(ErrorBody, Object.entries(statusOf).find(([, s]) => s === status)![0]);
    if (status !== 429) return [status, response];
    const retryAfter = {
      description: 'Seconds until the key may send again.',
      schema: { type: 'integer' as const, minimum: 0 },
    };
    return [status, { ...response, headers: { 'Retry-After': retryAfter } }];
  }),
) as Record<ErrorStatus, ReturnType<typeof jsonResponse<typeof ErrorBody>>>;

export const security = [{ bearer: [] }];
