// Planner statistics on the embedded database (which never autovacuums): the maintenance sweep analyzes tables that
// changed, and per-session reads by role then use the session/role index instead of reading the whole session.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { refreshStatistics } from '../../src/services/maintenance.js';
import { harness, tenant, type Harness } from '../helpers.js';

describe('refreshStatistics on PGlite', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(() => openPglite());
  });
  afterAll(async () => h.close());

  it('analyzes changed tables once, and the role index serves per-session role reads', async () => {
    const c = await tenant(h);
    // Two sessions: a large one and a small one, so that reading by role through the index pays off.
    for (const [session, batches] of [['big', 12], ['small', 1]] as const) {
      for (let b = 0; b < batches; b++) {
        const turns = Array.from({ length: 100 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${b}-${i} about trains and tickets` }));
        expect((await c.call('POST', `/v1/sessions/${session}/turns`, { turns })).status).toBe(201);
      }
    }
    const analyzed = await refreshStatistics(h.deps);
    expect(analyzed).toContain('turns');
    expect(await refreshStatistics(h.deps)).not.toContain('turns');

    const plan = await h.deps.store.query<{ 'QUERY PLAN': string }>(sql`
      EXPLAIN SELECT id FROM turns WHERE tenant_id = ${c.tenantId} AND session_id = 'big' AND role = 'system'
      ORDER BY sequence LIMIT 20`);
    expect(plan.map((r) => r['QUERY PLAN']).join('\n')).toContain('turns_session_role_idx');
  });
});
