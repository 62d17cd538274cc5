import { createRoute } from '@hono/zod-openapi';
import { listSessions } from '../../services/lists.js';
import { ListSessionsQuery, SessionList } from '../../schemas/sessions.js';
import { errorResponses, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'listSessions',
  method: 'get',
  path: '/v1/sessions',
  tags: ['sessions'],
  summary: 'List sessions, newest first',
  description: 'Filter by `user_id` and `agent_id`; pass `next_cursor` as `cursor` for the next page.',
  security,
  middleware: [requireScope('read')] as const,
  request: { query: ListSessionsQuery },
  responses: { 200: jsonResponse(SessionList, 'A page of sessions'), ...errorResponses },
});

export const registerV1SessionsList = (app: App) =>
  app.openapi(route, async (c) => c.json(await listSessions(c.get('ctx'), c.req.valid('query')), 200));
