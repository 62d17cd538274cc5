// Tenants and API keys. Keys are shown once and stored only as SHA-256 hashes; the key decides the tenant.
import { sql } from 'drizzle-orm';
import { randomToken, sha256Hex } from '../crypto.js';
import { textArray } from '../db/decode.js';
import { pgTextArray } from '../db/store.js';
import { ApiError } from '../errors.js';
import type { Deps } from '../ports.js';
import { forgetKey, rememberedPrincipal, rememberPrincipal } from './auth-memo.js';

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
  const remembered = await rememberedPrincipal(deps, hash);
  if (remembered) return remembered;
  const [row] = await deps.store.query<{ id: string; tenant_id: string; scopes: string[] | string }>(sql`
    SELECT id, tenant_id, scopes FROM api_keys WHERE key_hash = ${hash} AND revoked_at IS NULL`);
  if (!row) throw new ApiError('UNAUTHORIZED', 'invalid or revoked API key');
  const principal: Principal = {
    tenantId: row.tenant_id,
    keyId: row.id,
    scopes: textArray(row.scopes).filter((s): s is Scope => (scopes as readonly string[]).includes(s)),
  };
  rememberPrincipal(deps, hash, principal);
  return principal;
}

export interface ApiKeyView {
  id: string;
  tenant: string;
  prefix: string;
  scopes: Scope[];
  created_at: string;
  revoked_at: string | null;
}

export async function listApiKeys(deps: Deps, tenantId?: string): Promise<ApiKeyView[]> {
  const rows = await deps.store.query<{
    id: string;
    tenant_id: string;
    prefix: string;
    scopes: string[] | string;
    created_at: string;
    revoked_at: string | null;
  }>(sql`
    SELECT id, tenant_id, prefix, scopes, created_at, revoked_at FROM api_keys
    ${tenantId ? sql`WHERE tenant_id = ${tenantId}` : sql``} ORDER BY created_at DESC LIMIT 1000`);
  return rows.map((r) => ({
    id: r.id,
    tenant: r.tenant_id,
    prefix: r.prefix,
    scopes: textArray(r.scopes) as Scope[],
    created_at: new Date(r.created_at).toISOString(),
    revoked_at: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
  }));
}

/**
 * Revokes at once: the database row first, then the key is forgotten by this process and marked revoked in the
 * shared cache, so no instance keeps accepting a lookup it remembered (./auth-memo.ts).
 */
export async function revokeApiKey(deps: Deps, id: string): Promise<void> {
  const rows = await deps.store.query<{ id: string }>(sql`
    UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = ${id} RETURNING id`);
  if (rows.length === 0) throw new ApiError('NOT_FOUND', `API key "${id}" not found`);
  await forgetKey(deps, id);
}

/** Checks the admin bearer key in constant time (comparing hashes, so lengths never leak). */
export async function authenticateAdmin(
  adminKey: string | undefined,
  authorization: string | undefined,
): Promise<void> {
  if (!adminKey) throw new ApiError('FORBIDDEN', 'the admin API is disabled: set CONTEXT_ADMIN_KEY to enable it');
  const match = authorization?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!match) throw new ApiError('UNAUTHORIZED', 'missing bearer key: send "Authorization: Bearer <admin key>"');
  const [a, b] = await Promise.all([sha256Hex(match[1]!), sha256Hex(adminKey)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  if (diff !== 0) throw new ApiError('UNAUTHORIZED', 'invalid admin key');
}
