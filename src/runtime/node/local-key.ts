// The local tenant's API key for single-machine runs (`npm start`, `npm run mcp`, `npm run dev:edge`):
// CONTEXT_API_KEY if given, otherwise one generated once and kept in DATA_DIR/api-key.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Env } from '../../config.js';
import { randomToken } from '../../crypto.js';
import type { Deps } from '../../ports.js';
import { createApiKey } from '../../services/auth.js';

export const LOCAL_TENANT = 'local';

export function localApiKey(env: Env): string {
  if (env.CONTEXT_API_KEY) return env.CONTEXT_API_KEY;
  mkdirSync(env.DATA_DIR, { recursive: true });
  const keyFile = path.join(env.DATA_DIR, 'api-key');
  if (existsSync(keyFile)) return readFileSync(keyFile, 'utf8').trim();
  const key = `ctx_local_${randomToken()}`;
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  return key;
}

/** Makes sure the local key is registered for the local tenant, and returns it. */
export async function registerLocalKey(deps: Deps): Promise<string> {
  const key = localApiKey(deps.env);
  await createApiKey(deps, { tenantId: LOCAL_TENANT, key, scopes: ['read', 'write'] });
  return key;
}
