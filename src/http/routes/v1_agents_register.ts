import { createRoute } from '@hono/zod-openapi';
import { registerAgent } from '../../services/task-flows.js';
import { Agent, AgentBody } from '../../schemas/flows.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'registerAgent',
  method: 'post',
  path: '/v1/agents',
  tags: ['agents'],
  summary: 'Register an agent or replace its settings',
  description:
    'Name, description, LLM provider and configuration: `groups`, a `webhook` (`url`, `secret`) called when contexts ' +
    'are precomputed, the `resume` policy for new sessions, and a `strategy` split into weighted variants (A/B).',
  security,
  middleware: [requireScope('write')] as const,
  request: { body: jsonBody(AgentBody) },
  responses: { 201: jsonResponse(Agent, 'Registered'), 200: jsonResponse(Agent, 'Updated'), ...errorResponses },
});

export const registerV1AgentsRegister = (app: App) =>
  app.openapi(route, async (c) => {
    const agent = await registerAgent(c.get('ctx'), c.req.valid('json'));
    return agent.created ? c.json(agent, 201) : c.json(agent, 200);
  });
