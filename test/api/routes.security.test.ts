// The shared auth checks on every route the app serves, read from its OpenAPI document and its router, so a route
// added without a key check, a scope or tenant isolation fails here without this file naming it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey, type Scope } from '../../src/services/auth.js';
import { backends, harness, snapshot, tenant, type Client, type Harness } from '../helpers.js';

const ADMIN = 'admin-key-for-route-checks';
const SECRET = 'HERON-4410';

/** Served without a key: the routes docs/security.md names, and the static files of the /docs and /inspect pages. */
const PUBLIC = new Set([
  '/healthz',
  '/openapi.json',
  '/metrics',
  '/docs',
  '/docs/scalar.js',
  '/inspect',
  '/inspect/{file}',
]);
/** POST routes that only read (the query travels in the body); every other route but GET writes. */
const READS_BY_POST = new Set([
  'POST /v1/sessions/{session_id}/context',
  'POST /v1/sessions/{session_id}/search',
  'POST /v1/memories/search',
]);
/** Routes that create what their path names in the caller's tenant: another tenant's key gets a resource of its own. */
const CREATES_IN_CALLERS_TENANT = new Set(['POST /v1/sessions/{session_id}/turns']);

/**
 * public: no key; admin: the operator's key only; read / write: a tenant key with that scope;
 * key: a tenant key, with scopes checked per MCP tool (test/mcp).
 */
type Access = 'public' | 'admin' | 'read' | 'write' | 'key';

interface Route {
  method: string;
  path: string;
  access: Access;
  /** The request body's example from the OpenAPI document, when the route takes a body. */
  body?: unknown;
}

function accessOf(method: string, path: string): Access {
  if (PUBLIC.has(path)) return 'public';
  if (path === '/mcp') return 'key';
  if (path.startsWith('/v1/admin/')) return 'admin';
  return method === 'GET' || READS_BY_POST.has(`${method} ${path}`) ? 'read' : 'write';
}

const keyed = (r: Route) => r.access !== 'public';
const admin = (r: Route) => r.access === 'admin';
const reads = (r: Route) => r.access === 'read';
const writes = (r: Route) => r.access === 'write';
const namesResource = (r: Route) =>
  (r.access === 'read' || r.access === 'write') &&
  r.path.includes('{') &&
  !CREATES_IN_CALLERS_TENANT.has(`${r.method} ${r.path}`);

/** Who calls; each is an Authorization header made in beforeAll (`nobody` sends none). */
type Caller = 'nobody' | 'unknown' | 'revoked' | 'basic' | 'everyScope' | 'readOnly' | 'writeOnly' | 'otherTenant';

/** The shared checks: a caller, the routes the check applies to, and the refusal every one of them must answer. */
const checks: { name: string; caller: Caller; on: (r: Route) => boolean; status: 401 | 403 | 404 }[] = [
  { name: 'no key', caller: 'nobody', on: keyed, status: 401 },
  { name: 'a key that does not exist', caller: 'unknown', on: keyed, status: 401 },
  { name: 'a revoked key', caller: 'revoked', on: keyed, status: 401 },
  { name: 'a key in another scheme', caller: 'basic', on: keyed, status: 401 },
  { name: 'a tenant key with every scope on the admin API', caller: 'everyScope', on: admin, status: 401 },
  { name: 'a read-only key on a write route', caller: 'readOnly', on: writes, status: 403 },
  { name: 'a write-only key on a read route', caller: 'writeOnly', on: reads, status: 403 },
  { name: "another tenant's key on this tenant's resource", caller: 'otherTenant', on: namesResource, status: 404 },
];

const codeOf = { 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND' } as const;

interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { example?: unknown }> };
}
interface Operation {
  requestBody?: { content: Record<string, { schema: { $ref?: string; example?: unknown }; example?: unknown }> };
}

const mcpCall = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };

/** Every route: the operations of /openapi.json, then the router's handlers (middleware left out), `{param}` style. */
async function routesOf(h: Harness): Promise<Route[]> {
  const doc = (await (await h.app.request('/openapi.json')).json()) as OpenApiDoc;
  const routes = new Map<string, Route>();
  const add = (method: string, path: string, body: unknown) =>
    routes.set(`${method} ${path}`, { method, path, access: accessOf(method, path), body });
  for (const [path, operations] of Object.entries(doc.paths))
    for (const [verb, op] of Object.entries(operations)) add(verb.toUpperCase(), path, exampleBody(doc, op, path));
  const served = new Set<string>();
  for (const r of h.app.routes) {
    if (r.path.endsWith('*')) continue;
    const path = r.path.replace(/:(\w+)(\{[^}]*\})?/g, '{$1}');
    for (const method of r.method === 'ALL' ? ['GET', 'POST'] : [r.method]) {
      const key = `${method} ${path}`;
      served.add(key);
      if (!routes.has(key)) add(method, path, key === 'POST /mcp' ? mcpCall : undefined);
    }
  }
  // Both sources name the same API: a documented route that is not served would mean the enumeration is off.
  expect([...routes.keys()].filter((k) => !served.has(k))).toEqual([]);
  return [...routes.values()];
}

function exampleBody(doc: OpenApiDoc, op: Operation, path: string): unknown {
  const content = op.requestBody?.content['application/json'];
  if (!content) return undefined;
  const ref = content.schema.$ref?.split('/').pop();
  const example = content.example ?? (ref ? doc.components.schemas[ref]?.example : content.schema.example);
  if (example === undefined) throw new Error(`${path}: the request schema has no example; add one with .openapi()`);
  return example;
}

describe.each(backends)('auth on every route on $name', ({ open }) => {
  let h: Harness;
  let routes: Route[];
  let owner: Client;
  const authorization = {} as Record<Caller, string | undefined>;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    h = await harness(open, { CONTEXT_ADMIN_KEY: ADMIN });
    routes = await routesOf(h);
    owner = await tenant(h);
    const other = await tenant(h);
    const keyOf = async (scopes: Scope[]) => createApiKey(h.deps, { tenantId: owner.tenantId, scopes });
    const revoked = await keyOf(['read', 'write']);
    await revokeApiKey(h.deps, revoked.id);
    Object.assign(authorization, {
      nobody: undefined,
      unknown: 'Bearer ctx_AAAAAAAAAAAAAAAAAAAAAAAA',
      revoked: `Bearer ${revoked.key}`,
      basic: `Basic ${btoa(`${owner.key}:`)}`,
      everyScope: `Bearer ${(await keyOf(['read', 'write', 'admin'])).key}`,
      readOnly: `Bearer ${(await keyOf(['read'])).key}`,
      writeOnly: `Bearer ${(await keyOf(['write'])).key}`,
      otherTenant: `Bearer ${other.key}`,
    } satisfies Record<Caller, string | undefined>);
    // The owner's resources, one for each kind of id a path names.
    const { client } = owner;
    await client.writeTurns('shared', {
      user_id: 'u1',
      agent_id: 'ag1',
      turns: [{ role: 'user', content: `The vault code is ${SECRET}.` }],
    });
    await client.registerToolChain('shared', { chain_id: 'ch1', steps: [{ step_id: 's1', tool_name: 'vault' }] });
    const memory = await client.memories.create({ scope: 'user', user_id: 'u1', content: `Remember ${SECRET}` });
    await client.registerAgent({ agent_id: 'ag1', config: { groups: ['ops'] } });
    await client.taskFlows.put('ag1', 'f1', { model_calls: [{ id: 'call1', model: 'm', budget_tokens: 500 }] });
    const context = await client.queryContext('shared', { query: 'vault code', budget_tokens: 500 });
    Object.assign(ids, {
      session_id: 'shared',
      chain_id: 'ch1',
      step_id: 's1',
      agent_id: 'ag1',
      flow_id: 'f1',
      memory_id: memory.id,
      request_id: context.request_id,
      key_id: revoked.id,
      file: 'index.html',
    });
  });
  afterAll(async () => h.close());

  /** The path with the owner's ids in it; `owner_id` is a user under /v1/users and an agent under /v1/agents. */
  const urlOf = (path: string) =>
    path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const id = name === 'owner_id' ? (path.startsWith('/v1/users/') ? 'u1' : 'ag1') : ids[name];
      if (id === undefined) throw new Error(`${path}: no id for {${name}}; add one to \`ids\` in beforeAll`);
      return encodeURIComponent(id);
    });

  const send = async (route: Route, caller: Caller) => {
    const auth = authorization[caller];
    const res = await h.app.request(urlOf(route.path), {
      method: route.method,
      headers: {
        ...(auth === undefined ? {} : { authorization: auth }),
        ...(route.body === undefined ? {} : { 'content-type': 'application/json' }),
        // MCP's Streamable HTTP asks for both; the rest of the API ignores it.
        accept: 'application/json, text/event-stream',
      },
      body: route.body === undefined ? undefined : JSON.stringify(route.body),
    });
    return { status: res.status, text: await res.text(), requestId: res.headers.get('x-request-id') };
  };

  /** What is wrong with an answer that must be a refusal with `status`; undefined when nothing is. */
  const refusalProblem = ({ status, text, requestId }: Awaited<ReturnType<typeof send>>, want: 401 | 403 | 404) => {
    if (status !== want) return `answered ${status}: ${text.slice(0, 120)}`;
    let body: { error?: Record<string, unknown> } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      return `answered a body that is not JSON: ${text.slice(0, 120)}`;
    }
    const e = body?.error;
    const shaped =
      e !== undefined &&
      Object.keys(body!).join() === 'error' &&
      Object.keys(e).sort().join() === 'code,message,request_id' &&
      e.code === codeOf[want] &&
      typeof e.message === 'string' &&
      e.message !== '' &&
      e.request_id === requestId;
    if (!shaped) return `answered ${text.slice(0, 160)}, not {error:{code,message,request_id}}`;
    if (text.includes(SECRET)) return 'answered with the owner’s data';
    return undefined;
  };

  it.each(checks)('$name → $status', async ({ caller, on, status }) => {
    const before = await snapshot(h.deps, owner.tenantId);
    const checked = routes.filter(on);
    const wrong: string[] = [];
    for (const route of checked) {
      const problem = refusalProblem(await send(route, caller), status);
      if (problem) wrong.push(`${route.method} ${route.path} ${problem}`);
    }
    expect(wrong).toEqual([]);
    expect(checked.length).toBeGreaterThan(0);
    expect(await snapshot(h.deps, owner.tenantId)).toEqual(before);
  });

  it('finds every route, /mcp and the developer pages included', () => {
    const names = routes.map((r) => `${r.method} ${r.path}`);
    for (const name of ['POST /mcp', 'GET /healthz', 'GET /metrics', 'GET /docs', 'GET /openapi.json', 'GET /inspect'])
      expect(names).toContain(name);
    expect(routes.filter(writes).length).toBeGreaterThan(10);
  });

  it('answers the public routes without a key', async () => {
    for (const route of routes.filter((r) => !keyed(r))) {
      const { status } = await send(route, 'nobody');
      expect(status, `${route.method} ${route.path}`).toBeLessThan(400);
    }
  });

  it('lets a read-only key through on read routes', async () => {
    for (const route of routes.filter(reads)) {
      const { status, text } = await send(route, 'readOnly');
      expect(status, `${route.method} ${route.path}: ${text.slice(0, 120)}`).toBeLessThan(400);
    }
  });
});
