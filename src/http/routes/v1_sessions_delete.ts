import { createRoute } from '@hono/zod-openapi';
import { deleteSession } from '../../services/delete-context.js';
import { SessionParams } from '../../schemas/common.js';
import { errorResponses, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'deleteSession',
  method: 'delete',
  path: '/v1/sessions/{session_id}',
  tags: ['sessions'],
  summary: 'Delete a session and everything derived from it',
  description:
    'Removes turns, window and summary, tool chains, compaction audit rows, memories learnt in it and cached contexts.',
  security,
  middleware: [requireScope('write')] as const,
  request: { params: SessionParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses },
});

export const registerV1SessionsDelete = (app: App) =>
  app.openapi(route, async (c) => {
    await deleteSession(c.get('ctx'), c.req.valid('param').session_id);
    return c.body(null, 204);
  });
