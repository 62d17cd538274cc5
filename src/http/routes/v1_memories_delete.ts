import { createRoute, z } from '@hono/zod-openapi';
import { deleteMemory } from '../../services/memories.js';
import { errorResponses, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const MemoryParams = z.object({ memory_id: z.uuid().openapi({ param: { name: 'memory_id', in: 'path' } }) });

const route = createRoute({
  operationId: 'deleteMemory',
  method: 'delete',
  path: '/v1/memories/{memory_id}',
  tags: ['memories'],
  summary: 'Delete a memory',
  security,
  middleware: [requireScope('write')] as const,
  request: { params: MemoryParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses },
});

export const registerV1MemoriesDelete = (app: App) =>
  app.openapi(route, async (c) => {
    await deleteMemory(c.get('ctx'), c.req.valid('param').memory_id);
    return c.body(null, 204);
  });
