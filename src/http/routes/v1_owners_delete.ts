import { createRoute, z } from '@hono/zod-openapi';
import { deleteOwner } from '../../services/delete-context.js';
import { Id } from '../../schemas/common.js';
import { errorResponses, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

// Deletion by owner: everything of a user, or everything of an agent.
const routeFor = (kind: 'user' | 'agent') =>
  createRoute({
    operationId: kind === 'user' ? 'deleteUser' : 'deleteAgent',
    method: 'delete',
    path: kind === 'user' ? '/v1/users/{owner_id}' : '/v1/agents/{owner_id}',
    tags: ['sessions'],
    summary: kind === 'user' ? 'Delete a user’s sessions and memories' : 'Delete an agent’s sessions and memories',
    description: `Removes every session of the ${kind}, with everything derived from them, and the ${kind}’s memories.`,
    security,
    middleware: [requireScope('write')] as const,
    request: { params: z.object({ owner_id: Id.openapi({ param: { name: 'owner_id', in: 'path' } }) }) },
    responses: { 204: { description: 'Deleted' }, ...errorResponses },
  });

export const registerV1OwnersDelete = (app: App) => {
  for (const kind of ['user', 'agent'] as const)
    app.openapi(routeFor(kind), async (c) => {
      await deleteOwner(c.get('ctx'), kind, c.req.valid('param').owner_id);
      return c.body(null, 204);
    });
};
