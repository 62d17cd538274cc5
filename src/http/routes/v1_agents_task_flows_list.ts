import { createRoute } from '@hono/zod-openapi';
import { listTaskFlows } from '../../services/task-flows.js';
import { AgentParams, TaskFlowList } from '../../schemas/flows.js';
import { errorResponses, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'listTaskFlows',
  method: 'get',
  path: '/v1/agents/{agent_id}/task-flows',
  tags: ['agents'],
  summary: "List an agent's task flows",
  security,
  middleware: [requireScope('read')] as const,
  request: { params: AgentParams },
  responses: { 200: jsonResponse(TaskFlowList, 'The flows'), ...errorResponses },
});

export const registerV1AgentsTaskFlowsList = (app: App) =>
  app.openapi(route, async (c) =>
    c.json({ task_flows: await listTaskFlows(c.get('ctx'), c.req.valid('param').agent_id) }, 200),
  );
