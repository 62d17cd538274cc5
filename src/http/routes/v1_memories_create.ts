import { createRoute } from '@hono/zod-openapi';
import { createMemory } from '../../services/memories.js';
import { CreateMemoryBody, Memory } from '../../schemas/memories.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'createMemory',
  method: 'post',
  path: '/v1/memories',
  tags: ['memories'],
  summary: 'Create a memory',
  security,
  middleware: [requireScope('write')] as const,
  request: { body: jsonBody(CreateMemoryBody) },
  responses: { 201: jsonResponse(Memory, 'Created'), ...errorResponses },
});

export const registerV1MemoriesCreate = (app: App) =>
  app.openapi(route, async (c) => c.json(await createMemory(c.get('ctx'), c.req.valid('json')), 201));
