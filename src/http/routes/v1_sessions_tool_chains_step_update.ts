import { createRoute } from '@hono/zod-openapi';
import { updateToolResult } from '../../services/tool-chains.js';
import { Id, SessionParams } from '../../schemas/common.js';
import { ToolChain, UpdateToolResultBody } from '../../schemas/tools.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'updateToolResult',
  method: 'put',
  path: '/v1/sessions/{session_id}/tool-chains/{chain_id}/steps/{step_id}',
  tags: ['tools'],
  summary: 'Store a tool step’s result',
  description:
    'Sets the step’s status and result and adds the result to the session as a tool turn linked to its call.',
  security,
  middleware: [requireScope('write')] as const,
  request: {
    params: SessionParams.extend({
      chain_id: Id.openapi({ param: { name: 'chain_id', in: 'path' } }),
      step_id: Id.openapi({ param: { name: 'step_id', in: 'path' } }),
    }),
    body: jsonBody(UpdateToolResultBody),
  },
  responses: { 200: jsonResponse(ToolChain, 'The chain after the update'), ...errorResponses },
});

export const registerV1SessionsToolChainsStepUpdate = (app: App) =>
  app.openapi(route, async (c) => {
    const p = c.req.valid('param');
    const chain = await updateToolResult(c.get('ctx'), {
      sessionId: p.session_id,
      chainId: p.chain_id,
      stepId: p.step_id,
      body: c.req.valid('json'),
    });
    return c.json(chain, 200);
  });
