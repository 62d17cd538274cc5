import { createRoute, z } from '@hono/zod-openapi';
import { searchMemories } from '../../services/memories.js';
import { Memory, SearchMemoriesBody } from '../../schemas/memories.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'searchMemories',
  method: 'post',
  path: '/v1/memories/search',
  tags: ['memories'],
  summary: 'Search memories by relevance',
  security,
  middleware: [requireScope('read')] as const,
  request: { body: jsonBody(SearchMemoriesBody) },
  responses: { 200: jsonResponse(z.object({ memories: z.array(Memory) }), 'Best match first'), ...errorResponses },
});

export const registerV1MemoriesSearch = (app: App) =>
  app.openapi(route, async (c) => c.json({ memories: await searchMemories(c.get('ctx'), c.req.valid('json')) }, 200));
