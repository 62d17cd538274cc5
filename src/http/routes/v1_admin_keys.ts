import { createRoute, z } from '@hono/zod-openapi';
import { CreateKeyBody, CreatedKey, KeyView } from '../../schemas/admin.js';
import { Id } from '../../schemas/common.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../../services/auth.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';

// Key management, authorised by the CONTEXT_ADMIN_KEY bearer key.
const create = createRoute({
  operationId: 'adminCreateKey', method: 'post', path: '/v1/admin/keys', tags: ['admin'],
  summary: 'Create an API key for a tenant', security,
  request: { body: jsonBody(CreateKeyBody) },
  responses: { 201: jsonResponse(CreatedKey, 'Created; the key is shown only here'), ...errorResponses },
});
const list = createRoute({
  operationId: 'adminListKeys', method: 'get', path: '/v1/admin/keys', tags: ['admin'],
  summary: 'List API keys (never the keys themselves)', security,
  request: { query: z.strictObject({ tenant: Id.optional() }) },
  responses: { 200: jsonResponse(z.object({ keys: z.array(KeyView) }), 'Keys, newest first'), ...errorResponses },
});
const revoke = createRoute({
  operationId: 'adminRevokeKey', method: 'delete', path: '/v1/admin/keys/{key_id}', tags: ['admin'],
  summary: 'Revoke an API key at once', security,
  request: { params: z.object({ key_id: z.string().min(1).max(64).openapi({ param: { name: 'key_id', in: 'path' } }) }) },
  responses: { 204: { description: 'Revoked' }, ...errorResponses },
});

export const registerV1AdminKeys = (app: App) => {
  app.openapi(create, async (c) => {
    const body = c.req.valid('json');
    return c.json(await createApiKey(c.get('ctx'), { tenantId: body.tenant, scopes: body.scopes }), 201);
  });
  app.openapi(list, async (c) => c.json({ keys: await listApiKeys(c.get('ctx'), c.req.valid('query').tenant) }, 200));
  app.openapi(revoke, async (c) => {
    await revokeApiKey(c.get('ctx'), c.req.valid('param').key_id);
    return c.body(null, 204);
  });
};
