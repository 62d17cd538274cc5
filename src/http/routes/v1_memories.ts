import { createRoute, z } from '@hono/zod-openapi';
import { createMemory, deleteMemory, listMemories, searchMemories } from '../../services/memories.js';
import { CreateMemoryBody, ListMemoriesQuery, Memory, MemoryList, SearchMemoriesBody } from '../../schemas/memories.js';
import { errorResponses, jsonBody, jsonResponse, requireScope, security, type App } from '../app.js';

// Memories: create, list, search, delete (seed 000 HandleMemoryUpdate / MemoryRecall).
const MemoryParams = z.object({ memory_id: z.uuid().openapi({ param: { name: 'memory_id', in: 'path' } }) });

const create = createRoute({
  operationId: 'createMemory', method: 'post', path: '/v1/memories', tags: ['memories'],
  summary: 'Create a memory', security, middleware: [requireScope('write')] as const,
  request: { body: jsonBody(CreateMemoryBody) },
  responses: { 201: jsonResponse(Memory, 'Created'), ...errorResponses },
});
const list = createRoute({
  operationId: 'listMemories', method: 'get', path: '/v1/memories', tags: ['memories'],
  summary: 'List memories, newest first', security, middleware: [requireScope('read')] as const,
  request: { query: ListMemoriesQuery },
  responses: { 200: jsonResponse(MemoryList, 'A page of memories'), ...errorResponses },
});
const search = createRoute({
  operationId: 'searchMemories', method: 'post', path: '/v1/memories/search', tags: ['memories'],
  summary: 'Search memories by relevance', security, middleware: [requireScope('read')] as const,
  request: { body: jsonBody(SearchMemoriesBody) },
  responses: { 200: jsonResponse(z.object({ memories: z.array(Memory) }), 'Best match first'), ...errorResponses },
});
const remove = createRoute({
  operationId: 'deleteMemory', method: 'delete', path: '/v1/memories/{memory_id}', tags: ['memories'],
  summary: 'Delete a memory', security, middleware: [requireScope('write')] as const,
  request: { params: MemoryParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses },
});

export const registerV1Memories = (app: App) => {
  app.openapi(create, async (c) => c.json(await createMemory(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(list, async (c) => c.json(await listMemories(c.get('ctx'), c.req.valid('query')), 200));
  app.openapi(search, async (c) => c.json({ memories: await searchMemories(c.get('ctx'), c.req.valid('json')) }, 200));
  app.openapi(remove, async (c) => {
    await deleteMemory(c.get('ctx'), c.req.valid('param').memory_id);
    return c.body(null, 204);
  });
};
