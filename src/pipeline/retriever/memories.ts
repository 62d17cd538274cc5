// Memory recall: the memories a session may see (by scope and ownership) that match the query, constraints always,
// ranked by ts_rank_cd; without a query, by importance.
import { sql, type SQL } from 'drizzle-orm';
import { int, textArray } from '../../db/decode.js';
import { pgTextArray, type Store } from '../../db/store.js';
import type { MemoryRow } from './types.js';

export interface MemoryOwner {
  sessionId: string | null;
  userId: string | null;
  agentId: string | null;
  /** Groups the session's agent belongs to; agent-public memories shared with them are visible. */
  agentGroups: string[];
}

/**
 * Ownership rules as a WHERE clause on `memories`: the user's memories (agent-neutral or of this agent), the agent's
 * own or shared with its groups, and the session's own.
 */
export function visibleMemories(tenantId: string, owner: MemoryOwner): SQL {
  return sql`tenant_id = ${tenantId} AND (
    (scope = 'user' AND user_id = ${owner.userId} AND (agent_id IS NULL OR agent_id = ${owner.agentId}))
    OR (scope = 'agent' AND (agent_id = ${owner.agentId} OR shared_group_ids && ${pgTextArray(owner.agentGroups)}::text[]))
    OR (session_id = ${owner.sessionId})
  )`;
}

/** A memory row as the drivers return it: the int[] column parsed or as an array literal. */
type StoredMemory = Omit<MemoryRow, 'source_sequences'> & { source_sequences: readonly string[] | string | null };

export async function recallMemories(
  store: Store,
  tenantId: string,
  owner: MemoryOwner,
  tsQuery: string | undefined,
  limit = 20,
): Promise<MemoryRow[]> {
  // Only current memories: one superseded or closed (valid_to set) stays stored for audit, never recalled.
  const rows = tsQuery
    ? await store.query<StoredMemory>(sql`
        SELECT id, content, scope, kind, importance, token_count, origin, valid_from, session_id, source_sequences,
          ts_rank_cd(tsv, q) AS score
        FROM memories, to_tsquery('english', ${tsQuery}) AS q
        WHERE ${visibleMemories(tenantId, owner)} AND valid_to IS NULL AND (tsv @@ q OR kind = 'constraint')
        ORDER BY (tsv @@ q) DESC, score DESC, importance DESC LIMIT ${limit}`)
    : await store.query<StoredMemory>(sql`
        SELECT id, content, scope, kind, importance, token_count, origin, valid_from, session_id, source_sequences,
          importance AS score
        FROM memories WHERE ${visibleMemories(tenantId, owner)} AND valid_to IS NULL
        ORDER BY importance DESC, updated_at DESC LIMIT ${limit}`);
  return rows.map((r) => ({
    ...r,
    importance: Number(r.importance),
    token_count: Number(r.token_count),
    score: Number(r.score),
    source_sequences: textArray(r.source_sequences).map(int),
    ...(r.valid_from ? { valid_from: new Date(r.valid_from).toISOString() } : {}),
  }));
}
