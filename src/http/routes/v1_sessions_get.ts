import { createRoute } from '@hono/zod-openapi';
import { getSessionContext } from '../../services/session-reads.js';
import { SessionParams } from '../../schemas/common.js';
import { SessionView } from '../../schemas/sessions.js';
import { errorResponses, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'getSession',
  method: 'get',
  path: '/v1/sessions/{session_id}',
  tags: ['sessions'],
  summary: 'Get a session: owner, counts and the window with its summary',
  security,
  middleware: [requireScope('read')] as const,
  request: { params: SessionParams },
  responses: { 200: jsonResponse(SessionView, 'The session'), ...errorResponses },
});

export const registerV1SessionsGet = (app: App) =>
  app.openapi(route, async (c) => c.json(await getSessionContext(c.get('ctx'), c.req.valid('param').session_id), 200));
