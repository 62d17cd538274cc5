import { createRoute } from '@hono/zod-openapi';
import { listAgents } from '../../services/lists.js';
import { AgentList, ListOwnersQuery } from '../../schemas/owners.js';
import { errorResponses, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'listAgents',
  method: 'get',
  path: '/v1/agents',
  tags: ['agents'],
  summary: 'List agents, newest first',
  description:
    'Registered agents and those sessions were written for; pass `next_cursor` as `cursor` for the next page.',
  security,
  middleware: [requireScope('read')] as const,
  request: { query: ListOwnersQuery },
  responses: { 200: jsonResponse(AgentList, 'A page of agents'), ...errorResponses },
});

export const registerV1AgentsList = (app: App) =>
  app.openapi(route, async (c) => c.json(await listAgents(c.get('ctx'), c.req.valid('query')), 200));
