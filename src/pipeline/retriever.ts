// Retriever (seed 000 SelectionManager / MemoryRecallManager): candidate turns and memories for one query.
// Structural candidates (recent turns, system constraints, tool results, the opening request) come in one round
// trip; relevant history and memory come from PostgreSQL full-text search, ranked by ts_rank_cd.
import { sql, type SQL } from 'drizzle-orm';
import { defaults } from '../config.js';
import { pgTextArray, type Store } from '../db/store.js';
import { terms } from './text.js';

export interface TurnRow {
  id: string;
  sequence: number;
  role: 'user' | 'assistant' | 'tool' | 'system';
  name: string | null;
  content: string;
  token_count: number;
  external_id: string | null;
  tool_call_id: string | null;
  tool_calls: { id: string; name: string; arguments: string }[] | null;
  created_at: string;
  score: number;
}

export interface MemoryRow {
  id: string;
  content: string;
  scope: string;
  kind: string;
  importance: number;
  token_count: number;
  score: number;
}

export interface TimeRange {
  from?: string | undefined;
  to?: string | undefined;
}

const turnColumns = sql.raw(
  'id, sequence, role, name, content, token_count, external_id, tool_call_id, tool_calls, created_at',
);

/** An OR of the query's content words as a tsquery string, or undefined when nothing searchable remains. */
export function toTsQuery(query: string | undefined): string | undefined {
  if (!query) return undefined;
  const unique = [...new Set(terms(query))].slice(0, 32);
  return unique.length > 0 ? unique.join(' | ') : undefined;
}

const rangeFilter = (range: TimeRange | undefined): SQL => {
  const parts: SQL[] = [];
  if (range?.from) parts.push(sql`AND created_at >= ${range.from}::timestamptz`);
  if (range?.to) parts.push(sql`AND created_at <= ${range.to}::timestamptz`);
  return sql.join(parts, sql` `);
};

export function normalizeTurn(r: TurnRow): TurnRow {
  return {
    ...r,
    sequence: Number(r.sequence),
    token_count: Number(r.token_count),
    score: Number(r.score ?? 0),
    created_at: new Date(r.created_at).toISOString(),
    tool_calls: typeof r.tool_calls === 'string' ? JSON.parse(r.tool_calls) : r.tool_calls,
  };
}

export interface StructuralCandidates {
  recent: TurnRow[];
  system: TurnRow[];
  tool: TurnRow[];
  first: TurnRow | undefined;
}

export async function structuralCandidates(
  store: Store,
  tenantId: string,
  sessionId: string,
  recentLimit: number,
  range: TimeRange | undefined,
): Promise<StructuralCandidates> {
  const where = sql`tenant_id = ${tenantId} AND session_id = ${sessionId} ${rangeFilter(range)}`;
  const rows = await store.query<TurnRow & { bucket: string }>(sql`
    (SELECT 'recent' AS bucket, ${turnColumns}, 0 AS score FROM turns
      WHERE ${where} AND role IN ('user', 'assistant') ORDER BY sequence DESC LIMIT ${recentLimit})
    UNION ALL
    (SELECT 'system', ${turnColumns}, 0 FROM turns WHERE ${where} AND role = 'system' ORDER BY sequence LIMIT 20)
    UNION ALL
    (SELECT 'tool', ${turnColumns}, 0 FROM turns WHERE ${where} AND role = 'tool' ORDER BY sequence DESC LIMIT 10)
    UNION ALL
    (SELECT 'first', ${turnColumns}, 0 FROM turns WHERE ${where} AND role = 'user' ORDER BY sequence LIMIT 1)`);
  const out: StructuralCandidates = { recent: [], system: [], tool: [], first: undefined };
  for (const row of rows) {
    const t = normalizeTurn(row);
    if (row.bucket === 'recent') out.recent.push(t);
    else if (row.bucket === 'system') out.system.push(t);
    else if (row.bucket === 'tool') out.tool.push(t);
    else out.first = t;
  }
  return out;
}

export async function lexicalTurns(
  store: Store,
  tenantId: string,
  sessionId: string,
  tsQuery: string,
  opts: { limit?: number; range?: TimeRange | undefined; offset?: number } = {},
): Promise<TurnRow[]> {
  const rows = await store.query<TurnRow>(sql`
    SELECT ${turnColumns}, ts_rank_cd(tsv, q) AS score
    FROM turns, to_tsquery('english', ${tsQuery}) AS q
    WHERE tenant_id = ${tenantId} AND session_id = ${sessionId} AND tsv @@ q ${rangeFilter(opts.range)}
    ORDER BY score DESC, sequence DESC
    LIMIT ${opts.limit ?? defaults.lexicalCandidates} OFFSET ${opts.offset ?? 0}`);
  return rows.map(normalizeTurn);
}

export interface MemoryOwner {
  sessionId: string | null;
  userId: string | null;
  agentId: string | null;
  /** Groups the session's agent belongs to; agent-public memories shared with them are visible. */
  agentGroups: string[];
}

/** Ownership rules (seed 000 §2.3.3, ADR-004) as a WHERE clause on `memories`. */
export function visibleMemories(tenantId: string, owner: MemoryOwner): SQL {
  return sql`tenant_id = ${tenantId} AND (
    (scope = 'user' AND user_id = ${owner.userId} AND (agent_id IS NULL OR agent_id = ${owner.agentId}))
    OR (scope = 'agent' AND (agent_id = ${owner.agentId} OR shared_group_ids && ${pgTextArray(owner.agentGroups)}::text[]))
    OR (session_id = ${owner.sessionId})
  )`;
}

export async function recallMemories(
  store: Store,
  tenantId: string,
  owner: MemoryOwner,
  tsQuery: string | undefined,
  limit = 20,
): Promise<MemoryRow[]> {
  const rows = tsQuery
    ? await store.query<MemoryRow>(sql`
        SELECT id, content, scope, kind, importance, token_count, ts_rank_cd(tsv, q) AS score
        FROM memories, to_tsquery('english', ${tsQuery}) AS q
        WHERE ${visibleMemories(tenantId, owner)} AND (tsv @@ q OR kind = 'constraint')
        ORDER BY (tsv @@ q) DESC, score DESC, importance DESC LIMIT ${limit}`)
    : await store.query<MemoryRow>(sql`
        SELECT id, content, scope, kind, importance, token_count, importance AS score
        FROM memories WHERE ${visibleMemories(tenantId, owner)}
        ORDER BY importance DESC, updated_at DESC LIMIT ${limit}`);
  return rows.map((r) => ({ ...r, importance: Number(r.importance), token_count: Number(r.token_count), score: Number(r.score) }));
}
