import { createRoute } from '@hono/zod-openapi';
import { listMemories } from '../../services/memories.js';
import { ListMemoriesQuery, MemoryList } from '../../schemas/memories.js';
import { errorResponses, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'listMemories',
  method: 'get',
  path: '/v1/memories',
  tags: ['memories'],
  summary: 'List memories, newest first',
  security,
  middleware: [requireScope('read')] as const,
  request: { query: ListMemoriesQuery },
  responses: { 200: jsonResponse(MemoryList, 'A page of memories'), ...errorResponses },
});

export const registerV1MemoriesList = (app: App) =>
  app.openapi(route, async (c) => c.json(await listMemories(c.get('ctx'), c.req.valid('query')), 200));
