// Test helpers: both stores, a fresh tenant per test, and two clients over app.request(): the typed ContextClient
// for happy paths, and untyped `call`/`raw` for malformed and refused requests.
import { sql } from 'drizzle-orm';
import { inject } from 'vitest';
import { openPglite } from '../src/adapters/store/pglite.js';
import { openPostgres } from '../src/adapters/store/postgres.js';
import { ContextClient, type WriteTurnsRequest } from '../src/client/index.js';
import { parseEnv } from '../src/config/env.js';
import type { Store } from '../src/db/store.js';
import { buildApp } from '../src/http/routes/index.js';
import { createLogger, type Logger } from '../src/logger.js';
import { createNodeDeps, type NodeDeps } from '../src/runtime/node/deps.js';
import { createApiKey, type Scope } from '../src/services/auth.js';

/** The store with every statement refused: what is answered through it was answered from memory. */
export const refusingStore = (store: Store): Store => ({
  ...store,
  query: () => Promise.reject(new Error('a statement was sent')),
  read: () => Promise.reject(new Error('a statement was sent')),
});

export const backends = [
  { name: 'pglite', open: () => openPglite() },
  { name: 'postgres', open: () => openPostgres(inject('postgresUrl'), { migrate: false, max: 4 }) },
] as const;

export interface Harness {
  deps: NodeDeps;
  app: ReturnType<typeof buildApp>;
  close(): Promise<void>;
}

/** `opts.logger` replaces the silent one, e.g. a logger that records its lines (createLogger's sink). */
export async function harness(
  open: () => Promise<Store>,
  env: Record<string, string> = {},
  opts: { logger?: Logger } = {},
): Promise<Harness> {
  const deps = await createNodeDeps(parseEnv({ LOG_LEVEL: 'silent', ...env }), {
    store: await open(),
    logger: opts.logger ?? createLogger('silent'),
  });
  return { deps, app: buildApp(deps), close: () => deps.close() };
}

/** An untyped answer: for requests the typed client cannot send (malformed bodies, missing keys) or their refusals. */
export interface Reply {
  status: number;
  json: any;
  headers: Headers;
}

export interface Client {
  tenantId: string;
  key: string;
  /** The project's typed client, wired to the in-process app: its types follow the zod schemas of the routes. */
  client: ContextClient;
  /** Status and headers of the latest answer the typed client received (non-2xx answers are thrown as errors). */
  last(): { status: number; headers: Headers };
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  raw(method: string, path: string, body: string, headers?: Record<string, string>): Promise<Reply>;
}

export async function tenant(h: Harness, scopes?: Scope[]): Promise<Client> {
  const tenantId = `t-${crypto.randomUUID().slice(0, 12)}`;
  const { key } = await createApiKey(h.deps, { tenantId, scopes });
  return clientFor(h, tenantId, key);
}

/** The typed client for `key`, calling the app in process; `onResponse` sees every answer. */
export function typedClient(h: Harness, key: string, onResponse?: (res: Response) => void): ContextClient {
  return new ContextClient({
    baseUrl: 'http://engine.test',
    apiKey: key,
    fetch: async (url, init) => {
      const res = await h.app.request(url, init);
      onResponse?.(res);
      return res;
    },
  });
}

export function clientFor(h: Harness, tenantId: string, key: string): Client {
  const raw = async (method: string, path: string, body: string | undefined, headers: Record<string, string> = {}) => {
    const res = await h.app.request(path, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body,
    });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, headers: res.headers };
  };
  let last: { status: number; headers: Headers } | undefined;
  return {
    tenantId,
    key,
    client: typedClient(h, key, (res) => {
      last = { status: res.status, headers: res.headers };
    }),
    last: () => {
      if (!last) throw new Error('the typed client has not been called yet');
      return last;
    },
    call: (method, path, body, headers) =>
      raw(method, path, body === undefined ? undefined : JSON.stringify(body), headers),
    raw: (method, path, body, headers) => raw(method, path, body, headers),
  };
}

const tenantTables = [
  'sessions',
  'turns',
  'context_windows',
  'memories',
  'tool_chains',
  'tool_results',
  'idempotency_keys',
  'compactions',
  'users',
  'agents',
  'task_flows',
  'traces',
  'evaluations',
  'turn_vectors',
  'user_histories',
] as const;

/** Row counts of every tenant-owned table, to assert that a rejected request stored nothing. */
export async function snapshot(
  deps: Pick<NodeDeps, 'store' | 'traceBatch'>,
  tenantId: string,
): Promise<Record<string, number>> {
  // Traces of earlier queries written first, so that counts only move with the request under test.
  await deps.traceBatch?.flush();
  const store = deps.store;
  const out: Record<string, number> = {};
  for (const table of tenantTables) {
    const [row] = await store.query<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM ${sql.identifier(table)} WHERE tenant_id = ${tenantId}`,
    );
    out[table] = Number(row!.n);
  }
  return out;
}

export const turns3: WriteTurnsRequest['turns'] = [
  { role: 'user', content: 'My name is Ada and I am planning a trip to Lisbon in May.' },
  { role: 'assistant', content: 'Great, Lisbon in May is lovely. Do you prefer hotels or apartments?' },
  { role: 'user', content: 'Apartments near Alfama, budget 120 euros per night.' },
];
