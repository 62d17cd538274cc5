import { createRoute } from '@hono/zod-openapi';
import { queryContext } from '../../services/query-context.js';
import { SessionParams } from '../../schemas/common.js';
import { QueryContextBody, QueryContextResponse } from '../../schemas/context.js';
import { errorResponses, jsonBody, jsonResponse, requireScope, security, type App } from '../app.js';

const route = createRoute({
  operationId: 'queryContext',
  method: 'post',
  path: '/v1/sessions/{session_id}/context',
  tags: ['context'],
  summary: 'Get the best context within a token budget (QueryContext)',
  description:
    'Plans the budget across sections, retrieves relevant history and memory, and renders a ContextEnvelope. ' +
    '`token_count` (o200k tokens of `rendered.text`) never exceeds `budget_tokens − reserve_tokens`; ' +
    '`envelope.budget_report` explains what each section was given, kept and dropped.',
  security,
  middleware: [requireScope('read')] as const,
  request: { params: SessionParams, body: jsonBody(QueryContextBody) },
  responses: { 200: jsonResponse(QueryContextResponse, 'The context'), ...errorResponses },
});

export const registerV1SessionsContextQuery = (app: App) =>
  app.openapi(route, async (c) =>
    c.json(await queryContext(c.get('ctx'), { sessionId: c.req.valid('param').session_id, body: c.req.valid('json') }), 200),
  );
