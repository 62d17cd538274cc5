import { createRoute } from '@hono/zod-openapi';
import { serveContext } from '../../services/query-context.js';
import { SessionParams } from '../../schemas/common.js';
import { ContextRequest, QueryContextResponse } from '../../schemas/context.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'queryContext',
  method: 'post',
  path: '/v1/sessions/{session_id}/context',
  tags: ['context'],
  summary: 'Query context: the best context for the next model call within a token budget',
  description:
    'Plans the budget across sections, retrieves relevant history and memory, and renders a ContextEnvelope. ' +
    '`token_count` (o200k tokens of `rendered.text`) never exceeds `budget_tokens − reserve_tokens`; ' +
    '`envelope.budget_report` explains what each section was given, kept and dropped. With `model_call_id`, the ' +
    "recipe of that model call of the session's agent applies and its precomputed context is served when current " +
    '(`source`). Every answer records a trace under its `request_id`, which the service makes for each request ' +
    '(also the `X-Request-Id` response header); an `X-Request-Id` the caller sends is never used as one: when it is ' +
    'a valid id it is echoed as `X-Client-Request-Id` and noted in the trace, for correlation only.',
  security,
  middleware: [requireScope('read')] as const,
  request: { params: SessionParams, body: jsonBody(ContextRequest) },
  responses: { 200: jsonResponse(QueryContextResponse, 'The context'), ...errorResponses },
});

export const registerV1SessionsContextQuery = (app: App) =>
  app.openapi(route, async (c) =>
    c.json(await serveContext(c.get('ctx'), c.req.valid('param').session_id, c.req.valid('json')), 200),
  );
