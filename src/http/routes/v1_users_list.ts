import { createRoute } from '@hono/zod-openapi';
import { listUsers } from '../../services/lists.js';
import { ListOwnersQuery, UserList } from '../../schemas/owners.js';
import { errorResponses, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'listUsers',
  method: 'get',
  path: '/v1/users',
  tags: ['sessions'],
  summary: 'List users, newest first',
  description: 'The users sessions were written for; pass `next_cursor` as `cursor` for the next page.',
  security,
  middleware: [requireScope('read')] as const,
  request: { query: ListOwnersQuery },
  responses: { 200: jsonResponse(UserList, 'A page of users'), ...errorResponses },
});

export const registerV1UsersList = (app: App) =>
  app.openapi(route, async (c) => c.json(await listUsers(c.get('ctx'), c.req.valid('query')), 200));
