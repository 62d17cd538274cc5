// Planner statistics on the embedded database (which never autovacuums): the maintenance sweep analyzes tables that
// changed, and per-session reads by role then use the session/role index instead of reading the whole session.
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { refreshStatistics, statisticsBeat } from '../../src/services/maintenance.js';
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
    for (const [session, batches] of [
      ['big', 12],
      ['small', 1],
    ] as const) {
      for (let b = 0; b < batches; b++) {
        const turns = Array.from({ length: 100 }, (_, i) => ({
          role: i % 2 ? 'assistant' : 'user',
          content: `turn ${b}-${i} about trains and tickets`,
        }));
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

  it('the statistics beat checks at once and on its beat, reports what it analyzed, and stops', async () => {
    const c = await tenant(h);
    const turns = Array.from({ length: 100 }, (_, i) => ({ role: 'user', content: `more turn ${i} about buses` }));
    for (let b = 0; b < 6; b++)
      expect(
        (
          await c.call('POST', '/v1/sessions/beat/turns', {
            turns: turns.map((t) => ({ ...t, content: `${t.content} ${b}` })),
          })
        ).status,
      ).toBe(201);
    const dialect = new PgDialect();
    let checks = 0;
    const counting = {
      ...h.deps,
      store: {
        ...h.deps.store,
        query: (q: SQL) => {
          if (dialect.sqlToQuery(q).sql.includes('pg_stat_user_tables')) checks += 1;
          return h.deps.store.query(q);
        },
      },
    } as typeof h.deps;
    const analyzed: string[][] = [];
    const stop = statisticsBeat(
      counting,
      {
        analyzed: (tables) => analyzed.push(tables),
        failed: (err) => {
          throw err;
        },
      },
      30,
    );
    await vi.waitFor(() => expect(checks).toBeGreaterThanOrEqual(3), { timeout: 5_000 });
    stop();
    const stoppedAt = checks;
    await new Promise((r) => setTimeout(r, 150));
    expect(checks).toBeLessThanOrEqual(stoppedAt + 1); // at most the check already under way
    // Only the first check found the new rows; the later ones had nothing left to analyze.
    expect(analyzed).toHaveLength(1);
    expect(analyzed[0]).toContain('turns');
  });
});
