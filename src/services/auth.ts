// Tenants and API keys. Keys are shown once and stored only as SHA-256 hashes; the key decides the tenant.
import { sql } from 'drizzle-orm';
import { randomToken, sha256Hex } from '../crypto.js';
import { parseTextArray, pgTextArray } from '../db/store.js';
import { ApiError } from '../errors.js';
import type { Deps } from '../ports.js';

export const scopes = ['read', 'write', 'admin'] as const;
export type Scope = (typeof scopes)[number];

export interface Principal {
  tenantId: string;
  keyId: string;
  scopes: Scope[];
}

export async function ensureTenant(deps: Deps, tenantId: string, name = tenantId): Promise<void> {
  await deps.store.query(sql`INSERT INTO tenants (id, name) VALUES (${tenantId}, ${name}) ON CONFLICT (id) DO NOTHING`);
}

/** Creates a key for the tenant (creating the tenant if needed). `key` may be supplied, e.g. CONTEXT_API_KEY. */
export async function createApiKey(
  deps: Deps,
  input: { tenantId: string; scopes?: Scope[]; key?: string },
): Promise<{ id: string; key: string; tenant: string; scopes: Scope[] }> {
  const key = input.key ?? `ctx_${randomToken()}`;
  const keyScopes = input.scopes ?? ['read', 'write'];
  const id = `key_${randomToken(9)}`;
  await ensureTenant(deps, input.tenantId);
  const hash = await sha256Hex(key);
  const [row] = await deps.store.query<{ id: string; tenant_id: string }>(sql`
    INSERT INTO api_keys (id, tenant_id, key_hash, prefix, scopes)
    VALUES (${id}, ${input.tenantId}, ${hash}, ${key.slice(0, 8)}, ${pgTextArray(keyScopes)}::text[])
    ON CONFLICT (key_hash) DO UPDATE SET revoked_at = NULL
    WHERE api_keys.tenant_id = excluded.tenant_id
    RETURNING id, tenant_id`);
  if (!row) throw new ApiError('CONFLICT', 'that key is already in use by another tenant');
  return { id: row.id, key, tenant: input.tenantId, scopes: keyScopes };
}

export async function authenticate(deps: Deps, authorization: string | undefined): Promise<Principal> {
  const match = authorization?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!match) throw new ApiError('UNAUTHORIZED', 'missing bearer key: send "Authorization: Bearer <key>"');
  const hash = await sha256Hex(match[1]!);
  const [row] = await deps.store.query<{ id: string; tenant_id: string; scopes: string[] | string }>(sql`
    SELECT id, tenant_id, scopes FROM api_keys WHERE key_hash = ${hash} AND revoked_at IS NULL`);
  if (!row) throw new ApiError('UNAUTHORIZED', 'invalid or revoked API key');
  return { tenantId: row.tenant_id, keyId: row.id, scopes: parseTextArray(row.scopes).filter((s): s is Scope => (scopes as readonly string[]).includes(s)) };
}
