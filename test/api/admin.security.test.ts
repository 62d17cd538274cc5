import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, clientFor, harness, turns3, type Harness } from '../helpers.js';

const ADMIN = 'admin-key-for-tests-0123';

describe.each(backends)('admin key API on $name', ({ open }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(open, { CONTEXT_ADMIN_KEY: ADMIN, RATE_LIMIT_PER_MINUTE: '5' });
  });
  afterAll(async () => h.close());

  const admin = (method: string, path: string, body?: unknown, key = ADMIN) =>
    h.app.request(path, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('creates keys that work, stores only their hash, and revokes them at once', async () => {
    const tenantId = `acme-${crypto.randomUUID().slice(0, 8)}`;
    const res = await admin('POST', '/v1/admin/keys', { tenant: tenantId, scopes: ['read', 'write'] });
    expect(res.status).toBe(201);
    const created = (await res.json()) as any;
    expect(created.key).toMatch(/^ctx_/);
    const c = clientFor(h, tenantId, created.key);
    expect((await c.call('POST', '/v1/sessions/a/turns', { turns: turns3 })).status).toBe(201);
    const listed = (await (await admin('GET', `/v1/admin/keys?tenant=${tenantId}`)).json()) as any;
    expect(listed.keys).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(created.key);
    const stored = await h.deps.store.query<{ key_hash: string }>(
      sql`SELECT key_hash FROM api_keys WHERE tenant_id = ${tenantId}`,
    );
    expect(stored[0]!.key_hash).not.toContain(created.key);
    expect(stored[0]!.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect((await admin('DELETE', `/v1/admin/keys/${created.id}`)).status).toBe(204);
    const after = await c.call('GET', '/v1/sessions/a');
    expect(after.status).toBe(401);
    expect((await admin('DELETE', '/v1/admin/keys/key_missing')).status).toBe(404);
  });

  it('refuses tenant keys and wrong admin keys on the admin API', async () => {
    const tenantId = `t-${crypto.randomUUID().slice(0, 8)}`;
    const created = (await (
      await admin('POST', '/v1/admin/keys', { tenant: tenantId, scopes: ['admin'] })
    ).json()) as any;
    expect((await admin('POST', '/v1/admin/keys', { tenant: 'other', scopes: ['read'] }, created.key)).status).toBe(
      401,
    );
    expect((await admin('GET', '/v1/admin/keys', undefined, 'nope-nope-nope')).status).toBe(401);
    expect((await admin('POST', '/v1/admin/keys', { tenant: 'x', scopes: ['root'] })).status).toBe(400);
  });

  it('limits requests per key with 429 and Retry-After', async () => {
    const tenantId = `rl-${crypto.randomUUID().slice(0, 8)}`;
    const created = (await (await admin('POST', '/v1/admin/keys', { tenant: tenantId })).json()) as any;
    const other = (await (await admin('POST', '/v1/admin/keys', { tenant: tenantId })).json()) as any;
    const c = clientFor(h, tenantId, created.key);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 7; i++) {
      const r = await c.call('GET', '/v1/memories');
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get('retry-after');
        expect(r.json.error.code).toBe('RATE_LIMITED');
      }
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // Limits are per key.
    expect((await clientFor(h, tenantId, other.key).call('GET', '/v1/memories')).status).toBe(200);
  });
});

describe('admin API without CONTEXT_ADMIN_KEY', () => {
  it('is disabled', async () => {
    const h = await harness(backends[0].open);
    const res = await h.app.request('/v1/admin/keys', { headers: { authorization: 'Bearer anything-at-all' } });
    expect(res.status).toBe(403);
    await h.close();
  });
});

describe('refused requests in the metrics', () => {
  it('counts 401 answers given before routing', async () => {
    const h = await harness(backends[0].open);
    await h.app.request('/v1/memories', { headers: { authorization: 'Bearer not-a-key-at-all' } });
    const text = await (await h.app.request('/metrics')).text();
    expect(text).toMatch(/http_requests_total\{[^}]*status="401"[^}]*\} 1/);
    await h.close();
  });
});
