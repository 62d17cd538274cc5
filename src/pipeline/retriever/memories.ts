// Memory recall: the memories a session may see (by scope and ownership) that match the query, constraints always,
// ranked by ts_rank_cd; without a query, by importance.
import { sql, type SQL } from 'drizzle-orm';
import { int, textArray } from '../../db/decode.js';
import { pgTextArray, readRows, type Store } from '../../db/store.js';
import type { MemoryRow } from './types.js';

export interface MemoryOwner {
  sessionId: string | null;
  userId: string | null;
  agentId: string | null;
  /** Groups the session's agent belongs to; agent-public memories shared with them are visible. */
  agentGroups: string[];
}

/**
 * Ownership rules as WHERE clauses on `memories`, one per kind of owner so that each reads its own index: the user's
 * memories (agent-neutral or of this agent), the agent's own or shared with its groups, and the session's own.
 */
export function visibleMemories(tenantId: string, owner: MemoryOwner): SQL[] {
  const groups = pgTextArray(owner.agentGroups);
  return [
    ...(owner.userId === null
      ? []
      : [
          sql`tenant_id = ${tenantId} AND scope = 'user' AND user_id = ${owner.userId}
            AND (agent_id IS NULL OR agent_id = ${owner.agentId})`,
        ]),
    ...(owner.agentId === null && owner.agentGroups.length === 0
      ? []
      : [
          sql`tenant_id = ${tenantId} AND scope = 'agent' AND (agent_id = ${owner.agentId} OR shared_group_ids && ${groups}::text[])`,
        ]),
    ...(owner.sessionId === null ? [] : [sql`tenant_id = ${tenantId} AND session_id = ${owner.sessionId}`]),
  ];
}

/** A memory row as the drivers return it: the int[] column parsed or as an array literal. */
type StoredMemory = Omit<MemoryRow, 'source_sequences'> & { source_sequences: readonly string[] | string | null };

const memoryColumns = sql`id, content, scope, kind, importance, token_count, origin, valid_from, session_id,
  source_sequences, updated_at`;

/**
 * The memories that match the query, best first, then constraints that do not (they always apply); without a query,
 * the most important. Only current ones: a superseded or closed memory (valid_to set) stays stored for audit. Each
 * owner's memories are read apart and the union ranked, so a query reads the matches of its owners, not a tenant's.
 */
export async function recallMemories(
  store: Store,
  tenantId: string,
  owner: MemoryOwner,
  tsQuery: string | undefined,
  limit = 20,
): Promise<MemoryRow[]> {
  const branches = visibleMemories(tenantId, owner);
  if (branches.length === 0) return [];
  // Each branch ordered and cut on its own (a memory may be in two, e.g. the user's and the session's), then merged.
  const union = (select: (where: SQL) => SQL) =>
    sql.join(
      branches.map((w) => sql`(${select(w)})`),
      sql` UNION ALL `,
    );
  const q = sql`to_tsquery('english', ${tsQuery ?? ''})`;
  // A constraint that does not match ranks 0 either way (the query is an OR of words): ranked only when it matches.
  const rows = tsQuery
    ? await readRows<StoredMemory>(
        store,
        sql`
        SELECT * FROM (${union(
          (w) => sql`
            SELECT ${memoryColumns}, tsv @@ ${q} AS matched,
              CASE WHEN tsv @@ ${q} THEN ts_rank_cd(tsv, ${q}) ELSE 0 END AS score FROM memories
            WHERE ${w} AND valid_to IS NULL AND (tsv @@ ${q} OR kind = 'constraint')
            ORDER BY matched DESC, score DESC, importance DESC LIMIT ${limit}`,
        )}) v
        ORDER BY matched DESC, score DESC, importance DESC, id LIMIT ${limit * branches.length}`,
      )
    : await readRows<StoredMemory>(
        store,
        sql`
        SELECT *, importance AS score FROM (${union(
          (w) => sql`SELECT ${memoryColumns} FROM memories WHERE ${w} AND valid_to IS NULL
            ORDER BY importance DESC, updated_at DESC LIMIT ${limit}`,
        )}) v
        ORDER BY importance DESC, updated_at DESC, id LIMIT ${limit * branches.length}`,
      );
  const seen = new Set<string>();
  const distinct = rows.filter((r) => !seen.has(r.id) && seen.add(r.id)).slice(0, limit);
  return distinct.map(
    ({ updated_at: _u, matched: _m, ...r }: StoredMemory & { updated_at?: unknown; matched?: unknown }) => ({
      ...r,
      importance: Number(r.importance),
      token_count: Number(r.token_count),
      score: Number(r.score),
      source_sequences: textArray(r.source_sequences).map(int),
      ...(r.valid_from ? { valid_from: new Date(r.valid_from).toISOString() } : {}),
    }),
  );
}
