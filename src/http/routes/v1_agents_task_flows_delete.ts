import { createRoute } from '@hono/zod-openapi';
import { deleteTaskFlow } from '../../services/task-flows.js';
import { FlowParams } from '../../schemas/flows.js';
import { errorResponses, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'deleteTaskFlow',
  method: 'delete',
  path: '/v1/agents/{agent_id}/task-flows/{flow_id}',
  tags: ['agents'],
  summary: 'Delete a task flow',
  security,
  middleware: [requireScope('write')] as const,
  request: { params: FlowParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses },
});

export const registerV1AgentsTaskFlowsDelete = (app: App) =>
  app.openapi(route, async (c) => {
    const { agent_id, flow_id } = c.req.valid('param');
    await deleteTaskFlow(c.get('ctx'), agent_id, flow_id);
    return c.body(null, 204);
  });
