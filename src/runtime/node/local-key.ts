// The local tenant's API key for single-machine runs (`npm start`, `npm run mcp`, `npm run dev:edge`):
// CONTEXT_API_KEY if given, otherwise one generated once and kept in DATA_DIR/api-key.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Env } from '../../config/env.js';
import { randomToken } from '../../crypto.js';
import type { Deps } from '../../ports.js';
import { authenticate, createApiKey } from '../../services/auth.js';

export const LOCAL_TENANT = 'local';
const LOCAL_SCOPES = ['read', 'write'] as const;

export interface LocalKey {
  key: string;
  /** `env`: CONTEXT_API_KEY; `file`: kept in `file` by an earlier start; `generated`: made and kept now. */
  origin: 'env' | 'file' | 'generated';
  file?: string;
}

export function resolveLocalKey(env: Env): LocalKey {
  if (env.CONTEXT_API_KEY) return { key: env.CONTEXT_API_KEY, origin: 'env' };
  mkdirSync(env.DATA_DIR, { recursive: true });
  const file = path.resolve(env.DATA_DIR, 'api-key');
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), origin: 'file', file };
  const key = `ctx_local_${randomToken()}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, origin: 'generated', file };
}

export function localApiKey(env: Env): string {
  return resolveLocalKey(env).key;
}

/** Makes sure the local key is registered for the local tenant, and returns it with where it came from. */
export async function registerLocalKey(deps: Deps): Promise<LocalKey> {
  const local = resolveLocalKey(deps.env);
  // An existing directory usually has it already: a read instead of two writes on every start.
  const principal = await authenticate(deps, `Bearer ${local.key}`).catch(() => undefined);
  if (principal?.tenantId !== LOCAL_TENANT || !LOCAL_SCOPES.every((s) => principal.scopes.includes(s)))
    await createApiKey(deps, { tenantId: LOCAL_TENANT, key: local.key, scopes: [...LOCAL_SCOPES] });
  return local;
}

/**
 * How a console names the key: the value only when it was generated at this start (nowhere else to learn it from
 * yet); otherwise where it is, so that a key given by the environment or kept on disk is not copied into logs.
 */
export function describeLocalKey(local: LocalKey): { shown: string; shell: string } {
  if (local.origin === 'env') return { shown: 'from CONTEXT_API_KEY', shell: '$CONTEXT_API_KEY' };
  const quoted = `'${local.file!.replaceAll("'", `'\\''`)}'`;
  return {
    shown: local.origin === 'generated' ? `${local.key} (generated; kept in ${local.file})` : `kept in ${local.file}`,
    shell: `$(cat ${quoted})`,
  };
}
