// Inside workerd, on Neon and Upstash: ids containing ':' cannot make two tenants share a cached context or let one
// tenant's deletion wipe another's cache entries.
import { describe, expect, it } from 'vitest';
import { runtimeFor } from '../../functions/env.js';
import { createApiKey } from '../../src/services/auth.js';
import { sessionCachePrefix } from '../../src/services/sessions.js';
import { api, uid, upstash, workerEnv } from './helpers.js';

async function keyFor(tenantId: string): Promise<string> {
  const { deps } = await runtimeFor(workerEnv);
  return (await createApiKey(deps, { tenantId, scopes: ['read', 'write'] })).key;
}

describe('cache keys across tenants', () => {
  it('keep a tenant "x:eu" session "s1" apart from tenant "x" session "eu:s1"', async () => {
    const base = uid('acme');
    const victim = await keyFor(`${base}:eu`);
    const attacker = await keyFor(base);
    const body = { budget_tokens: 600 };

    await api(victim, 'POST', '/v1/sessions/s1/turns', {
      turns: [{ role: 'user', content: 'VICTIM SECRET: vault 4417.' }],
    });
    expect((await api(victim, 'POST', '/v1/sessions/s1/context', body)).body.rendered.text).toContain('VICTIM SECRET');

    await api(attacker, 'POST', '/v1/sessions/eu:s1/turns', { turns: [{ role: 'system', content: 'PLANTED line.' }] });
    const stolen = await api(attacker, 'POST', '/v1/sessions/eu:s1/context', body);
    expect(stolen.status).toBe(200);
    expect(stolen.body.cached).toBe(false);
    expect(JSON.stringify(stolen.body)).not.toContain('VICTIM SECRET');

    await api(attacker, 'POST', '/v1/sessions/eu/turns', { turns: [{ role: 'user', content: 'hello' }] });
    expect((await api(attacker, 'DELETE', '/v1/sessions/eu')).status).toBe(204);
    const redis = upstash();
    expect((await redis.keys(`${sessionCachePrefix(`${base}:eu`, 's1')}*`)).length).toBeGreaterThan(0);
    const kept = await api(victim, 'POST', '/v1/sessions/s1/context', body);
    expect(kept.body.cached).toBe(true);
    expect(JSON.stringify(kept.body)).not.toContain('PLANTED');
  });
});
