// Shared by the tests that run inside workerd: requests through the real Worker, and a tenant per test.
import { createExecutionContext, env, SELF } from 'cloudflare:test';
import { Redis } from '@upstash/redis/cloudflare';
import { runtimeFor, type WorkerEnv } from '../../functions/env.js';
import worker from '../../functions/worker.js';
import { upstashCache } from '../../src/adapters/cache/upstash.js';
import { createApiKey } from '../../src/services/auth.js';
import { sessionCachePrefix } from '../../src/services/sessions.js';

export const workerEnv = env as unknown as WorkerEnv;

export const uid = (label: string) => `${label}-${crypto.randomUUID().slice(0, 8)}`;

/** A fresh tenant with a read/write key, created through the Worker's own Neon store. */
export async function newTenant(label = 'wk'): Promise<{ tenantId: string; key: string }> {
  const { deps } = await runtimeFor(workerEnv);
  const tenantId = uid(label);
  const { key } = await createApiKey(deps, { tenantId, scopes: ['read', 'write'] });
  return { tenantId, key };
}

export async function api<T = any>(
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  return parse<T>(await SELF.fetch(request(key, method, path, body)));
}

/**
 * The same request through another runtime: an env object of its own gets its own dependencies (Neon, Upstash and
 * queue clients, caches), as a second isolate would.
 */
export async function apiOn<T = any>(
  on: WorkerEnv,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  return parse<T>(await worker.fetch(request(key, method, path, body), on, createExecutionContext()));
}

function request(key: string, method: string, path: string, body?: unknown) {
  return new Request(`https://context.test${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function parse<T>(res: Response): Promise<{ status: number; body: T }> {
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** A client of the Upstash stand-in, for looking at what the Worker left in Redis. */
export const upstash = () =>
  new Redis({ url: workerEnv.UPSTASH_REDIS_REST_URL, token: workerEnv.UPSTASH_REDIS_REST_TOKEN });

/**
 * Waits until precompute jobs have cached `count` contexts of the session at `version` (the default one and one per
 * model call), looking at Redis directly: a query would assemble and cache the answer itself on a miss, which is
 * what this must tell apart.
 */
export async function waitForPrecomputed(
  tenantId: string,
  sessionId: string,
  version: number,
  count = 1,
  timeoutMs = 20_000,
) {
  const redis = upstash();
  const cache = upstashCache(redis);
  return poll(
    async () => {
      const keys = await redis.keys(`${sessionCachePrefix(tenantId, sessionId)}*`);
      const values = await Promise.all(keys.map((k) => cache.get<{ request_id: string; session_version: number }>(k)));
      return values.filter((v) => v && v.request_id.startsWith('precompute:') && v.session_version === version).length;
    },
    (n) => n >= count,
    timeoutMs,
  );
}

/** Retries `read` until `done` accepts its result; queue deliveries arrive after about max_batch_timeout. */
export async function poll<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Turns of roughly `words` words each, numbered so each is distinct. */
export function fillerTurns(count: number, words = 40) {
  return Array.from({ length: count }, (_, i) => ({
    role: i % 2 === 0 ? ('user' as const) : ('assistant' as const),
    content: `Note ${i}: ` + Array.from({ length: words }, (_, w) => `word${(i * 31 + w) % 97}`).join(' '),
  }));
}
