import { createRoute } from '@hono/zod-openapi';
import { registerToolChain } from '../../services/tool-chains.js';
import { SessionParams } from '../../schemas/common.js';
import { RegisterToolChainBody, ToolChain } from '../../schemas/tools.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'registerToolChain',
  method: 'post',
  path: '/v1/sessions/{session_id}/tool-chains',
  tags: ['tools'],
  summary: 'Register the tool calls a model asked for',
  description: 'Saves the chain with its steps as pending and records the calls in the session as an assistant turn.',
  security,
  middleware: [requireScope('write')] as const,
  request: { params: SessionParams, body: jsonBody(RegisterToolChainBody) },
  responses: { 201: jsonResponse(ToolChain, 'Registered'), ...errorResponses },
});

export const registerV1SessionsToolChainsRegister = (app: App) =>
  app.openapi(route, async (c) =>
    c.json(await registerToolChain(c.get('ctx'), c.req.valid('param').session_id, c.req.valid('json')), 201),
  );
