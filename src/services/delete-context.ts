// DeleteContext: a session, or everything of a user or an agent. Foreign keys cascade to turns, windows, tool
// chains, audit rows, idempotency records and memories learnt in those sessions; cached contexts and this process's
// copies of their turns go too.
import { sql } from 'drizzle-orm';
import { int, textArray } from '../db/decode.js';
import { notFound } from '../errors.js';
import type { Ctx } from '../ports.js';
import { publishEvent } from './events/publish.js';
import { forgetSnapshot } from '../pipeline/retriever/snapshot.js';
import { forgetTermMatches } from '../pipeline/retriever/term-matches.js';
import { forgetCandidateRows } from '../pipeline/retriever/candidate-rows.js';
import { forgetVectors } from '../pipeline/retriever/vector-seeds.js';
import { forgetWords } from '../pipeline/retriever/semantic.js';
import { sessionCachePrefix } from './sessions.js';

export async function deleteSession(ctx: Ctx, sessionId: string): Promise<void> {
  const rows = await ctx.store.query<{ id: string }>(sql`
    DELETE FROM sessions WHERE tenant_id = ${ctx.tenantId} AND id = ${sessionId} RETURNING id`);
  if (rows.length === 0) throw notFound(`session "${sessionId}"`);
  await dropCached(ctx, [sessionId]);
  await publishEvent(ctx, { type: 'context.deleted', tenant_id: ctx.tenantId, scope: 'session', id: sessionId, session_ids: [sessionId] });
}

export async function deleteOwner(ctx: Ctx, kind: 'user' | 'agent', ownerId: string): Promise<{ sessions: number; memories: number }> {
  const t = ctx.tenantId;
  const [row] = await ctx.store.query<{ sessions: string[] | string | null; memories: number; owner: number }>(
    kind === 'user'
      ? sql`
        WITH s AS (DELETE FROM sessions WHERE tenant_id = ${t} AND user_id = ${ownerId} RETURNING id),
             m AS (DELETE FROM memories WHERE tenant_id = ${t} AND user_id = ${ownerId} RETURNING id),
             o AS (DELETE FROM users WHERE tenant_id = ${t} AND id = ${ownerId} RETURNING id)
        SELECT (SELECT array_agg(id) FROM s) AS sessions, (SELECT count(*)::int FROM m) AS memories,
               (SELECT count(*)::int FROM o) AS owner`
      : sql`
        WITH s AS (DELETE FROM sessions WHERE tenant_id = ${t} AND agent_id = ${ownerId} RETURNING id),
             m AS (DELETE FROM memories WHERE tenant_id = ${t} AND agent_id = ${ownerId} RETURNING id),
             o AS (DELETE FROM agents WHERE tenant_id = ${t} AND id = ${ownerId} RETURNING id)
        SELECT (SELECT array_agg(id) FROM s) AS sessions, (SELECT count(*)::int FROM m) AS memories,
               (SELECT count(*)::int FROM o) AS owner`,
  );
  const sessions = textArray(row?.sessions ?? null);
  const memories = int(row?.memories ?? 0);
  if (sessions.length === 0 && memories === 0 && int(row?.owner ?? 0) === 0) throw notFound(`${kind} "${ownerId}"`);
  await dropCached(ctx, sessions);
  await publishEvent(ctx, { type: 'context.deleted', tenant_id: t, scope: kind, id: ownerId, session_ids: sessions });
  return { sessions: sessions.length, memories };
}

async function dropCached(ctx: Ctx, sessionIds: string[]) {
  for (const id of sessionIds) {
    forgetSnapshot(ctx.tenantId, id);
    forgetTermMatches(ctx.tenantId, id);
    forgetCandidateRows(ctx.tenantId, id);
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
