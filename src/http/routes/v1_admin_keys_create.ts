import { createRoute } from '@hono/zod-openapi';
import { CreateKeyBody, CreatedKey } from '../../schemas/admin.js';
import { createApiKey } from '../../services/auth.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';

// Authorised by the CONTEXT_ADMIN_KEY bearer key, like every /v1/admin route.
const route = createRoute({
  operationId: 'createApiKey',
  method: 'post',
  path: '/v1/admin/keys',
  tags: ['admin'],
  summary: 'Create an API key for a tenant',
  security,
  request: { body: jsonBody(CreateKeyBody) },
  responses: { 201: jsonResponse(CreatedKey, 'Created; the key is shown only here'), ...errorResponses },
});

export const registerV1AdminKeysCreate = (app: App) =>
  app.openapi(route, async (c) => {
    const body = c.req.valid('json');
    return c.json(await createApiKey(c.get('ctx'), { tenantId: body.tenant, scopes: body.scopes }), 201);
  });
