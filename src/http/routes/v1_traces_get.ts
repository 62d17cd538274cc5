import { createRoute } from '@hono/zod-openapi';
import { getTrace } from '../../services/traces.js';
import { RequestIdParams, Trace } from '../../schemas/flows.js';
import { errorResponses, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'getTrace',
  method: 'get',
  path: '/v1/traces/{request_id}',
  tags: ['traces'],
  summary: 'The trace of a context request: service stages, then the steps the agent appended, in order',
  security,
  middleware: [requireScope('read')] as const,
  request: { params: RequestIdParams },
  responses: { 200: jsonResponse(Trace, 'The trace'), ...errorResponses },
});

export const registerV1TracesGet = (app: App) =>
  app.openapi(route, async (c) => c.json(await getTrace(c.get('ctx'), c.req.valid('param').request_id), 200));
