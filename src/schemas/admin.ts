import { z } from '@hono/zod-openapi';
import { Id } from './common.js';

export const Scope = z.enum(['read', 'write', 'admin']);

export const CreateKeyBody = z
  .strictObject({
    tenant: Id.openapi({ description: 'Tenant the key belongs to; created if new.' }),
    scopes: z.array(Scope).min(1).max(3).default(['read', 'write']),
  })
  .openapi('CreateKeyRequest', { example: { tenant: 'acme', scopes: ['read', 'write'] } });

export const CreatedKey = z
  .object({
    id: z.string(),
    key: z.string().openapi({ description: 'Shown once; only its hash is stored.' }),
    tenant: z.string(),
    scopes: z.array(Scope),
  })
  .openapi('CreatedKey');

export const KeyView = z
  .object({
    id: z.string(),
    tenant: z.string(),
    prefix: z.string(),
    scopes: z.array(Scope),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .openapi('ApiKey');
