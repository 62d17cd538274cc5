import { createRoute, z } from '@hono/zod-openapi';
import { getAgentContext } from '../../services/session-reads.js';
import { Id } from '../../schemas/common.js';
import { AgentContext } from '../../schemas/sessions.js';
import { errorResponses, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'getAgentContext',
  method: 'get',
  path: '/v1/agents/{agent_id}/context',
  tags: ['agents'],
  summary: 'Get an agent: configuration, session count and public memories',
  security,
  middleware: [requireScope('read')] as const,
  request: { params: z.object({ agent_id: Id.openapi({ param: { name: 'agent_id', in: 'path' } }) }) },
  responses: { 200: jsonResponse(AgentContext, 'The agent'), ...errorResponses },
});

export const registerV1AgentsContextGet = (app: App) =>
  app.openapi(route, async (c) => c.json(await getAgentContext(c.get('ctx'), c.req.valid('param').agent_id), 200));
