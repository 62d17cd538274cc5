import { createRoute, z } from '@hono/zod-openapi';
import { KeyView } from '../../schemas/admin.js';
import { Id } from '../../schemas/common.js';
import { listApiKeys } from '../../services/auth.js';
import { errorResponses, jsonResponse, security, type App } from '../app.js';

// Authorised by the CONTEXT_ADMIN_KEY bearer key, like every /v1/admin route.
const route = createRoute({
  operationId: 'listApiKeys',
  method: 'get',
  path: '/v1/admin/keys',
  tags: ['admin'],
  summary: 'List API keys (never the keys themselves)',
  security,
  request: { query: z.strictObject({ tenant: Id.optional() }) },
  responses: { 200: jsonResponse(z.object({ keys: z.array(KeyView) }), 'Keys, newest first'), ...errorResponses },
});

export const registerV1AdminKeysList = (app: App) =>
  app.openapi(route, async (c) => c.json({ keys: await listApiKeys(c.get('ctx'), c.req.valid('query').tenant) }, 200));
