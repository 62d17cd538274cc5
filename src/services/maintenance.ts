// Maintenance (cron on Workers, timers on Node): re-queues compression for windows past their limit, so a crash between
// a write and its enqueue is repaired, and refreshes planner statistics of tables that changed.
import { sql } from 'drizzle-orm';
import { defaults } from '../config/tuning.js';
import type { Deps, Job } from '../ports.js';

/** Sessions per run; also the most messages one Cloudflare `sendBatch` accepts. */
export const MAINTENANCE_BATCH = 100;

export async function overdueCompressions(deps: Deps, limit = MAINTENANCE_BATCH): Promise<Job[]> {
  // Largest overflow first, so a backlog drains where it matters most.
  const rows = await deps.store.query<{ tenant_id: string; session_id: string }>(sql`
    SELECT w.tenant_id, w.session_id
    FROM sessions s
    JOIN context_windows w ON w.tenant_id = s.tenant_id AND w.session_id = s.id
    WHERE s.total_tokens - w.summarized_tokens > w.max_tokens
    ORDER BY s.total_tokens - w.summarized_tokens - w.max_tokens DESC
    LIMIT ${limit}`);
  return rows.map((r) => ({
    kind: 'compress',
    mode: 'threshold',
    tenant_id: r.tenant_id,
    session_id: r.session_id,
    job_id: crypto.randomUUID(),
  }));
}

/**
 * Planner statistics: ANALYZE each table whose rows changed by more than a tenth (and 500 rows) since it was last
 * analyzed. The embedded database never autovacuums, and without statistics per-session statements read whole
 * sessions instead of using their indexes. Returns the tables analyzed.
 */
export async function refreshStatistics(deps: Deps): Promise<string[]> {
  // Row counters reach pg_stat_* when a backend reports them, at most once a second; ask for the pending ones first
  // (PostgreSQL 15+; older servers report on their own schedule).
  await deps.store.query(sql`SELECT pg_stat_force_next_flush()`).catch(() => undefined);
  const stale = await deps.store.query<{ relname: string }>(sql`
    SELECT relname FROM pg_stat_user_tables
    WHERE schemaname = current_schema()
      AND n_mod_since_analyze > GREATEST(500, n_live_tup / 10)`);
  for (const { relname } of stale) await deps.store.query(sql`ANALYZE ${sql.identifier(relname)}`);
  return stale.map((r) => r.relname);
}

/**
 * The Node process's statistics beat: `refreshStatistics` every `everyMs`, one check at a time (an ANALYZE of a large
 * table can outlast the beat); the first one after `everyMs` too, so a start's first requests do not wait behind it.
 * Returns a function that stops it.
 */
export function statisticsBeat(
  deps: Deps,
  report: { analyzed(tables: string[]): void; failed(err: Error): void },
  everyMs: number = defaults.statisticsIntervalMs,
): () => void {
  let checking = false;
  const check = () => {
    if (checking) return;
    checking = true;
    refreshStatistics(deps)
      .then(
        (tables) => (tables.length ? report.analyzed(tables) : undefined),
        (err: Error) => report.failed(err),
      )
      .finally(() => (checking = false));
  };
  const timer = setInterval(check, everyMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
