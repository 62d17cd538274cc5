import { createRoute, z } from '@hono/zod-openapi';
import { revokeApiKey } from '../../services/auth.js';
import { errorResponses, security, type App } from '../app.js';

// Authorised by the CONTEXT_ADMIN_KEY bearer key, like every /v1/admin route.
const route = createRoute({
  operationId: 'revokeApiKey',
  method: 'delete',
  path: '/v1/admin/keys/{key_id}',
  tags: ['admin'],
  summary: 'Revoke an API key at once',
  security,
  request: {
    params: z.object({
      key_id: z
        .string()
        .min(1)
        .max(64)
        .openapi({ param: { name: 'key_id', in: 'path' } }),
    }),
  },
  responses: { 204: { description: 'Revoked' }, ...errorResponses },
});

export const registerV1AdminKeysRevoke = (app: App) =>
  app.openapi(route, async (c) => {
    await revokeApiKey(c.get('ctx'), c.req.valid('param').key_id);
    return c.body(null, 204);
  });
