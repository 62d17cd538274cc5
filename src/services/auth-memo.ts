// API-key lookups remembered in this process for a few seconds. Revoking writes a marker to the shared cache that a
// remembered key is checked against; where the cache is per process (PostgreSQL without Redis), nothing is remembered.
import type { Deps } from '../ports.js';
import type { Principal } from './auth.js';

export const AUTH_MEMO_MS = 5_000;
const MAX_ENTRIES = 10_000;
/** Longer than a remembered lookup lives, so every instance's copy expires before the marker does. */
const MARKER_TTL_SECONDS = Math.ceil(AUTH_MEMO_MS / 1000) * 2 + 5;

const revokedMarker = (keyId: string) => `auth:revoked:${keyId}`;

/** Per database: the same key hash may name different keys in different databases (tests, tools). */
const memos = new WeakMap<object, Map<string, { principal: Principal; expires: number }>>();

function memoFor(deps: Deps): Map<string, { principal: Principal; expires: number }> | undefined {
  if (!deps.cache.shared && deps.store.dialect !== 'pglite') return undefined;
  let memo = memos.get(deps.store);
  if (!memo) memos.set(deps.store, (memo = new Map()));
  return memo;
}

/** The remembered principal for a key hash, if it is fresh and not revoked; undefined means "ask the database". */
export async function rememberedPrincipal(deps: Deps, hash: string): Promise<Principal | undefined> {
  const memo = memoFor(deps);
  const hit = memo?.get(hash);
  if (!memo || !hit) return undefined;
  if (hit.expires <= Date.now()) {
    memo.delete(hash);
    return undefined;
  }
  let revoked: unknown;
  try {
    revoked = await deps.cache.get(revokedMarker(hit.principal.keyId));
  } catch {
    return undefined; // cache unreachable: the database decides
  }
  if (revoked === undefined) return hit.principal;
  memo.delete(hash);
  return undefined;
}

export function rememberPrincipal(deps: Deps, hash: string, principal: Principal): void {
  const memo = memoFor(deps);
  if (!memo) return;
  memo.delete(hash);
  memo.set(hash, { principal, expires: Date.now() + AUTH_MEMO_MS });
  while (memo.size > MAX_ENTRIES) memo.delete(memo.keys().next().value as string);
}

/** After a key is revoked in the database: forget it here and tell every other instance through the cache. */
export async function forgetKey(deps: Deps, keyId: string): Promise<void> {
  const memo = memoFor(deps);
  if (!memo) return;
  for (const [hash, e] of memo) if (e.principal.keyId === keyId) memo.delete(hash);
  try {
    await deps.cache.set(revokedMarker(keyId), 1, MARKER_TTL_SECONDS);
  } catch (err) {
    deps.logger.warn('revocation marker not written; other instances may accept the key for a few seconds', {
      key_id: keyId,
      error: (err as Error).message,
    });
  }
}
