// Memories (seed 000 MemoryRecallManager, HandleMemoryUpdate): facts, preferences and constraints that outlive a
// session, owned by a user, an agent (and its shared groups) or a tool call.
import { sql, type SQL } from 'drizzle-orm';
import { parseTextArray, pgTextArray } from '../db/store.js';
import { ApiError, notFound } from '../errors.js';
import { toTsQuery } from '../pipeline/retriever/index.js';
import type { Ctx } from '../ports.js';
import type { CreateMemoryBody, ListMemoriesQuery, Memory, SearchMemoriesBody } from '../schemas/memories.js';
import { findSession } from './sessions.js';

const columns = sql.raw(
  'id, scope, kind, content, user_id, agent_id, session_id, tool_call_id, shared_group_ids, importance, token_count, metadata, created_at',
);

type Row = Omit<Memory, 'shared_group_ids'> & { shared_group_ids: string[] | string };

function toMemory(r: Row): Memory {
  return {
    ...r,
    shared_group_ids: parseTextArray(r.shared_group_ids),
    importance: Number(r.importance),
    token_count: Number(r.token_count),
    metadata: typeof r.metadata === 'string' ? JSON.parse(r.metadata) : r.metadata,
    created_at: new Date(r.created_at).toISOString(),
    ...(r.score !== undefined ? { score: Number(r.score) } : {}),
  };
}

export async function createMemory(ctx: Ctx, body: CreateMemoryBody, id: string = crypto.randomUUID()): Promise<Memory> {
  if (body.session_id && !(await findSession(ctx, ctx.tenantId, body.session_id)))
    throw notFound(`session "${body.session_id}"`);
  const [row] = await ctx.store.query<Row>(sql`
    INSERT INTO memories (id, tenant_id, scope, kind, content, user_id, agent_id, session_id, tool_call_id,
                          shared_group_ids, importance, token_count, metadata)
    VALUES (${id}::uuid, ${ctx.tenantId}, ${body.scope}, ${body.kind}, ${body.content}, ${body.user_id ?? null},
            ${body.agent_id ?? null}, ${body.session_id ?? null}, ${body.tool_call_id ?? null},
            ${pgTextArray(body.shared_group_ids)}::text[], ${body.importance}, ${ctx.tokenizer.count(body.content)},
            ${JSON.stringify(body.metadata)}::jsonb)
    ON CONFLICT (id) DO UPDATE SET content = excluded.content, kind = excluded.kind, importance = excluded.importance,
      token_count = excluded.token_count, metadata = excluded.metadata, shared_group_ids = excluded.shared_group_ids,
      updated_at = now()
    WHERE memories.tenant_id = excluded.tenant_id
    RETURNING ${columns}`);
  if (!row) throw new ApiError('CONFLICT', `memory id "${id}" is taken`);
  return toMemory(row);
}

function filters(ctx: Ctx, f: Partial<ListMemoriesQuery>): SQL {
  const parts: SQL[] = [sql`tenant_id = ${ctx.tenantId}`];
  if (f.user_id) parts.push(sql`user_id = ${f.user_id}`);
  if (f.agent_id) parts.push(sql`agent_id = ${f.agent_id}`);
  if (f.session_id) parts.push(sql`session_id = ${f.session_id}`);
  if (f.scope) parts.push(sql`scope = ${f.scope}`);
  if (f.kind) parts.push(sql`kind = ${f.kind}`);
  return sql.join(parts, sql` AND `);
}

export async function listMemories(ctx: Ctx, q: ListMemoriesQuery): Promise<{ memories: Memory[]; next_cursor: string | null }> {
  let after: SQL = sql``;
  if (q.cursor) {
    const [createdAt, id] = decodeCursor(q.cursor);
    after = sql`AND (created_at, id) < (${createdAt}::timestamptz, ${id}::uuid)`;
  }
  const rows = await ctx.store.query<Row>(sql`
    SELECT ${columns} FROM memories WHERE ${filters(ctx, q)} ${after}
    ORDER BY created_at DESC, id DESC LIMIT ${q.limit + 1}`);
  const page = rows.slice(0, q.limit).map(toMemory);
  const last = page[page.length - 1];
  return { memories: page, next_cursor: rows.length > q.limit && last ? encodeCursor(last.created_at, last.id) : null };
}

export async function searchMemories(ctx: Ctx, body: SearchMemoriesBody): Promise<Memory[]> {
  const tsQuery = toTsQuery(body.query);
  if (!tsQuery) return [];
  const rows = await ctx.store.query<Row>(sql`
    SELECT ${columns}, ts_rank_cd(tsv, q) AS score FROM memories, to_tsquery('english', ${tsQuery}) AS q
    WHERE ${filters(ctx, body)} AND tsv @@ q ORDER BY score DESC, importance DESC LIMIT ${body.limit}`);
  return rows.map(toMemory);
}

export async function deleteMemory(ctx: Ctx, id: string): Promise<void> {
  const rows = await ctx.store.query<{ id: string }>(sql`
    DELETE FROM memories WHERE tenant_id = ${ctx.tenantId} AND id = ${id}::uuid RETURNING id`);
  if (rows.length === 0) throw notFound(`memory "${id}"`);
}

export function encodeCursor(...parts: string[]): string {
  return btoa(JSON.stringify(parts)).replace(/=+$/, '');
}

export function decodeCursor(cursor: string): string[] {
  try {
    const parts = JSON.parse(atob(cursor));
    if (Array.isArray(parts) && parts.every((p) => typeof p === 'string')) return parts;
  } catch {
    // fall through to the error below
  }
  throw new ApiError('BAD_REQUEST', 'cursor: not a cursor this API returned');
}
