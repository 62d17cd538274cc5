// DeleteContext: a session, or everything of a user or an agent. Foreign keys cascade to the sessions' rows and the
// memories learnt in them; cached contexts and this process's copies of their turns go too.
import { sql, type SQL } from 'drizzle-orm';
import { int, textArray } from '../db/decode.js';
import { notFound } from '../errors.js';
import type { Ctx } from '../ports.js';
import { publishEvent } from './events/publish.js';
import { forgetSnapshot } from '../pipeline/retriever/snapshot.js';
import { forgetTermMatches } from '../pipeline/retriever/term-matches.js';
import { forgetCandidateRows } from '../pipeline/retriever/candidate-rows.js';
import { forgetSpeakers } from '../pipeline/retriever/sql-source.js';
import { forgetStructural } from '../pipeline/retriever/structural-rows.js';
import { forgetVectors } from '../pipeline/retriever/vector-seeds.js';
import { forgetWords } from '../pipeline/retriever/semantic.js';
import { forgetHistory } from '../pipeline/retriever/user-history.js';
import { historyCachePrefix, sessionCachePrefix } from './sessions.js';

export async function deleteSession(ctx: Ctx, sessionId: string): Promise<void> {
  const t = ctx.tenantId;
  const rows = await ctx.store.query<{ id: string; histories: string[] | string | null }>(sql`
    WITH RECURSIVE ${restoreEnded(t, sql`SELECT ${sessionId}::text AS id`)},
      d AS (DELETE FROM sessions WHERE tenant_id = ${t} AND id = ${sessionId}
            RETURNING id, user_id, agent_id, total_tokens),
      ${historiesLeft(t)}
    SELECT d.id, (SELECT array_agg(id) FROM hl) AS histories FROM d`);
  if (rows.length === 0) throw notFound(`session "${sessionId}"`);
  await dropCached(ctx, [sessionId], textArray(rows[0]!.histories));
  await publishEvent(ctx, {
    type: 'context.deleted',
    tenant_id: ctx.tenantId,
    scope: 'session',
    id: sessionId,
    session_ids: [sessionId],
  });
}

export async function deleteOwner(
  ctx: Ctx,
  kind: 'user' | 'agent',
  ownerId: string,
): Promise<{ sessions: number; memories: number }> {
  const t = ctx.tenantId;
  const [row] = await ctx.store.query<{
    sessions: string[] | string | null;
    histories: string[] | string | null;
    memories: number;
    owner: number;
  }>(
    kind === 'user'
      ? sql`
        WITH s AS (DELETE FROM sessions WHERE tenant_id = ${t} AND user_id = ${ownerId} RETURNING id),
             m AS (DELETE FROM memories WHERE tenant_id = ${t} AND user_id = ${ownerId} RETURNING id),
             h AS (DELETE FROM user_histories WHERE tenant_id = ${t} AND user_id = ${ownerId} RETURNING id),
             o AS (DELETE FROM users WHERE tenant_id = ${t} AND id = ${ownerId} RETURNING id)
        SELECT (SELECT array_agg(id) FROM s) AS sessions, (SELECT count(*)::int FROM m) AS memories,
               (SELECT array_agg(id) FROM h) AS histories, (SELECT count(*)::int FROM o) AS owner`
      : sql`
        WITH RECURSIVE ${restoreEnded(t, sql`SELECT id FROM sessions WHERE tenant_id = ${t} AND agent_id = ${ownerId}`)},
             s AS (DELETE FROM sessions WHERE tenant_id = ${t} AND agent_id = ${ownerId} RETURNING id),
             m AS (DELETE FROM memories WHERE tenant_id = ${t} AND agent_id = ${ownerId} RETURNING id),
             h AS (DELETE FROM user_histories WHERE tenant_id = ${t} AND agent_key = ${ownerId} RETURNING id),
             o AS (DELETE FROM agents WHERE tenant_id = ${t} AND id = ${ownerId} RETURNING id)
        SELECT (SELECT array_agg(id) FROM s) AS sessions, (SELECT count(*)::int FROM m) AS memories,
               (SELECT array_agg(id) FROM h) AS histories, (SELECT count(*)::int FROM o) AS owner`,
  );
  const sessions = textArray(row?.sessions ?? null);
  const memories = int(row?.memories ?? 0);
  if (sessions.length === 0 && memories === 0 && int(row?.owner ?? 0) === 0) throw notFound(`${kind} "${ownerId}"`);
  await dropCached(ctx, sessions, textArray(row?.histories ?? null));
  await publishEvent(ctx, { type: 'context.deleted', tenant_id: t, scope: kind, id: ownerId, session_ids: sessions });
  return { sessions: sessions.length, memories };
}

/**
 * CTEs that undo what deleted sessions did to the learned memories that outlive them (ADR 0015): a memory one of
 * them superseded or closed is current again, or, when a later session's memory had in turn replaced the deleted
 * one, superseded by that. Nothing of a deleted session stays visible, not even that it changed a memory. `gone`
 * selects the ids of the sessions being deleted; the caller's statement deletes them.
 */
function restoreEnded(t: string, gone: SQL): SQL {
  return sql`
    gone AS (${gone}),
    walk (start, next, ended, until, depth) AS (
      SELECT a.id, a.superseded_by, a.ended_in_session, a.valid_to, 0 FROM memories a
      WHERE a.tenant_id = ${t} AND a.ended_in_session IN (SELECT id FROM gone)
        AND NOT EXISTS (SELECT 1 FROM gone g WHERE g.id = a.session_id)
      UNION ALL
      SELECT w.start, b.superseded_by, b.ended_in_session, b.valid_to, w.depth + 1 FROM walk w
      JOIN memories b ON b.tenant_id = ${t} AND b.id = w.next AND b.session_id IN (SELECT id FROM gone)
      WHERE w.depth < 64
    ),
    last AS (SELECT DISTINCT ON (start) start, next, ended, until FROM walk ORDER BY start, depth DESC),
    restored AS (
      UPDATE memories a SET
        superseded_by = l.next,
        ended_in_session = CASE WHEN l.ended IN (SELECT id FROM gone) THEN NULL ELSE l.ended END,
        valid_to = CASE WHEN l.next IS NULL AND (l.ended IS NULL OR l.ended IN (SELECT id FROM gone)) THEN NULL
                        ELSE l.until END,
        updated_at = now()
      FROM last l WHERE a.tenant_id = ${t} AND a.id = l.start
      RETURNING 1
    )`;
}

/**
 * CTE `hl`: the user histories the deleted sessions (`d`) were part of move to a new version, so no cached context
 * that recalled them is served again, and a new epoch, so every process reads them afresh; `hl` returns their ids.
 */
function historiesLeft(t: string): SQL {
  return sql`hl AS (
      UPDATE user_histories h SET version = h.version + 1, epoch = h.epoch + 1,
        total_tokens = greatest(0, h.total_tokens - d.tokens)
      FROM (SELECT user_id, coalesce(agent_id, '') AS agent_key, sum(total_tokens) AS tokens FROM d
            WHERE user_id IS NOT NULL GROUP BY 1, 2) d
      WHERE h.tenant_id = ${t} AND h.user_id = d.user_id AND h.agent_key = d.agent_key
      RETURNING h.id)`;
}

/**
 * Drops what this process and the cache hold of the deleted sessions, and of the user histories they were part of:
 * every context that recalled one of those histories may hold the deleted turns.
 */
async function dropCached(ctx: Ctx, sessionIds: string[], historyIds: string[] = []) {
  for (const id of historyIds) {
    forgetHistory(ctx.tenantId, id);
    try {
      await ctx.cache.deletePrefix(historyCachePrefix(ctx.tenantId, id));
    } catch (err) {
      // Versioned keys already make these entries unreachable; the TTL removes them.
      ctx.logger.warn('cache delete failed', { error: (err as Error).message });
    }
  }
  if (sessionIds.length > 0) forgetSpeakers();
  for (const id of sessionIds) {
    forgetSnapshot(ctx.tenantId, id);
    forgetTermMatches(ctx.tenantId, id);
    forgetCandidateRows(ctx.tenantId, id);
    forgetStructural(ctx.tenantId, id);
    forgetVectors(ctx.tenantId, id);
    forgetWords(ctx.tenantId, id);
    try {
      await ctx.cache.deletePrefix(sessionCachePrefix(ctx.tenantId, id));
    } catch (err) {
      // Versioned keys already make these entries unreachable; the TTL removes them.
      ctx.logger.warn('cache delete failed', { session_id: id, error: (err as Error).message });
    }
  }
}
