import { createRoute } from '@hono/zod-openapi';
import { putTaskFlow } from '../../services/task-flows.js';
import { FlowParams, TaskFlow, TaskFlowBody } from '../../schemas/flows.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'putTaskFlow',
  method: 'put',
  path: '/v1/agents/{agent_id}/task-flows/{flow_id}',
  tags: ['agents'],
  summary: 'Declare a task flow: the ordered model calls of an agent, each with its context recipe',
  description:
    'After every write to a session of this agent, the context of each model call is assembled in the background; ' +
    'a query with `model_call_id` then answers from it (`source: precomputed`).',
  security,
  middleware: [requireScope('write')] as const,
  request: { params: FlowParams, body: jsonBody(TaskFlowBody) },
  responses: { 201: jsonResponse(TaskFlow, 'Created'), 200: jsonResponse(TaskFlow, 'Replaced'), ...errorResponses },
});

export const registerV1AgentsTaskFlowsPut = (app: App) =>
  app.openapi(route, async (c) => {
    const { agent_id, flow_id } = c.req.valid('param');
    const { created, ...flow } = await putTaskFlow(c.get('ctx'), agent_id, flow_id, c.req.valid('json'));
    return created ? c.json(flow, 201) : c.json(flow, 200);
  });
