// Shared by the tests that run inside workerd: requests through the real Worker, and a tenant per test.
import { env, SELF } from 'cloudflare:test';
import { runtimeFor, type WorkerEnv } from '../../functions/env.js';
import { createApiKey } from '../../src/services/auth.js';

export const workerEnv = env as unknown as WorkerEnv;

export const uid = (label: string) => `${label}-${crypto.randomUUID().slice(0, 8)}`;

/** A fresh tenant with a read/write key, created through the Worker's own Neon store. */
export async function newTenant(label = 'wk'): Promise<{ tenantId: string; key: string }> {
  const { deps } = await runtimeFor(workerEnv);
  const tenantId = uid(label);
  const { key } = await createApiKey(deps, { tenantId, scopes: ['read', 'write'] });
  return { tenantId, key };
}

export async function api<T = any>(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await SELF.fetch(`https://context.test${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Retries `read` until `done` accepts its result; queue deliveries arrive after about max_batch_timeout. */
export async function poll<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
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
