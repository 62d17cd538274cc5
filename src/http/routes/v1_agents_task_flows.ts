import { createRoute } from '@hono/zod-openapi';
import { deleteTaskFlow, listTaskFlows, putTaskFlow } from '../../services/task-flows.js';
import { AgentParams, FlowParams, TaskFlow, TaskFlowBody, TaskFlowList } from '../../schemas/flows.js';
import { errorResponses, jsonBody, jsonResponse, requireScope, security, type App } from '../app.js';

const put = createRoute({
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

const list = createRoute({
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

const remove = createRoute({
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

export const registerV1AgentsTaskFlows = (app: App) => {
  app.openapi(put, async (c) => {
    const { agent_id, flow_id } = c.req.valid('param');
    const { created, ...flow } = await putTaskFlow(c.get('ctx'), agent_id, flow_id, c.req.valid('json'));
    return created ? c.json(flow, 201) : c.json(flow, 200);
  });
  app.openapi(list, async (c) => c.json({ task_flows: await listTaskFlows(c.get('ctx'), c.req.valid('param').agent_id) }, 200));
  app.openapi(remove, async (c) => {
    const { agent_id, flow_id } = c.req.valid('param');
    await deleteTaskFlow(c.get('ctx'), agent_id, flow_id);
    return c.body(null, 204);
  });
};
