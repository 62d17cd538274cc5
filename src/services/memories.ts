// Memories: facts, preferences and constraints that outlive a session, owned by a user, an agent (and its shared
// groups) or a tool call.
import { sql, type SQL } from 'drizzle-orm';
import { sha256Hex } from '../crypto.js';
import { int, json, num, textArray } from '../db/decode.js';
import { pgTextArray } from '../db/store.js';
import { ApiError, notFound } from '../errors.js';
import { toTsQuery } from '../pipeline/retriever/index.js';
import type { Ctx } from '../ports.js';
import { decodeCursor, encodeCursor } from '../schemas/common.js';
import {
  MemoryCursor,
  type CreateMemoryBody,
  type ListMemoriesQuery,
  type Memory,
  type SearchMemoriesBody,
} from '../schemas/memories.js';
import { findSession } from './sessions.js';

const columns = sql.raw(
  'id, scope, kind, content, user_id, agent_id, session_id, tool_call_id, shared_group_ids, importance, token_count, ' +
    'metadata, created_at, origin, source_sequences, valid_from, valid_to, superseded_by, ended_in_session',
);

type Row = Omit<Memory, 'shared_group_ids' | 'source_sequences'> & {
  shared_group_ids: string[] | string;
  source_sequences: (number | string)[] | string | null;
};

const isoOrNull = (v: string | null) => (v === null ? null : new Date(v).toISOString());
const intArrayOrNull = (v: Row['source_sequences']) =>
  v === null ? null : (Array.isArray(v) ? v : textArray(v)).map(int);

function toMemory(r: Row): Memory {
  return {
    ...r,
    shared_group_ids: textArray(r.shared_group_ids),
    importance: num(r.importance),
    token_count: int(r.token_count),
    metadata: json(r.metadata),
    created_at: new Date(r.created_at).toISOString(),
    source_sequences: intArrayOrNull(r.source_sequences),
    valid_from: new Date(r.valid_from).toISOString(),
    valid_to: isoOrNull(r.valid_to),
    ...(r.score !== undefined ? { score: num(r.score) } : {}),
  };
}

/**
 * Stores a memory under `id`, replacing the one of this tenant stored under it. `once` keeps a stored one as it is
 * and answers with it instead: an event delivered again (or twice at once) then applies once and answers the same.
 */
export async function createMemory(
  ctx: Ctx,
  body: CreateMemoryBody,
  id: string = crypto.randomUUID(),
  opts: { once?: boolean } = {},
): Promise<Memory> {
  if (body.session_id && !(await findSession(ctx, ctx.tenantId, body.session_id)))
    throw notFound(`session "${body.session_id}"`);
  const onConflict = opts.once
    ? sql`DO UPDATE SET updated_at = memories.updated_at`
    : sql`DO UPDATE SET content = excluded.content, kind = excluded.kind, importance = excluded.importance,
      token_count = excluded.token_count, metadata = excluded.metadata, shared_group_ids = excluded.shared_group_ids,
      updated_at = now()`;
  const [row] = await ctx.store.query<Row>(sql`
    INSERT INTO memories (id, tenant_id, scope, kind, content, user_id, agent_id, session_id, tool_call_id,
                          shared_group_ids, importance, token_count, metadata)
    VALUES (${id}::uuid, ${ctx.tenantId}, ${body.scope}, ${body.kind}, ${body.content}, ${body.user_id ?? null},
            ${body.agent_id ?? null}, ${body.session_id ?? null}, ${body.tool_call_id ?? null},
            ${pgTextArray(body.shared_group_ids)}::text[], ${body.importance}, ${ctx.tokenizer.count(body.content)},
            ${JSON.stringify(body.metadata)}::jsonb)
    ON CONFLICT (id) ${onConflict}
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
  if (f.origin) parts.push(sql`origin = ${f.origin}`);
  if (!f.include_superseded) parts.push(sql`valid_to IS NULL`);
  return sql.join(parts, sql` AND `);
}

export async function listMemories(
  ctx: Ctx,
  q: ListMemoriesQuery,
): Promise<{ memories: Memory[]; next_cursor: string | null }> {
  let after: SQL = sql``;
  if (q.cursor) {
    // The query schema has refused any other cursor; this stays as the guard for callers that skip it.
    const parts = decodeCursor(q.cursor, MemoryCursor);
    if (!parts) throw new ApiError('BAD_REQUEST', 'cursor: not a cursor this API returned');
    const [createdAt, id] = parts;
    after = sql`AND (created_at, id) < (${createdAt}::timestamptz, ${id}::uuid)`;
  }
  const rows = await ctx.store.query<Row & { cursor_at: string }>(sql`
    SELECT ${columns}, created_at::text AS cursor_at FROM memories WHERE ${filters(ctx, q)} ${after}
    ORDER BY created_at DESC, id DESC LIMIT ${q.limit + 1}`);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  const next = rows.length > q.limit && last ? encodeCursor([last.cursor_at, last.id]) : null;
  return { memories: page.map(({ cursor_at: _at, ...r }) => toMemory(r)), next_cursor: next };
}

export async function searchMemories(ctx: Ctx, body: SearchMemoriesBody): Promise<Memory[]> {
  const tsQuery = toTsQuery(body.query);
  if (!tsQuery) return [];
  const rows = await ctx.store.query<Row>(sql`
    SELECT ${columns}, ts_rank_cd(tsv, q) AS score FROM memories, to_tsquery('english', ${tsQuery}) AS q
    WHERE ${filters(ctx, body)} AND tsv @@ q ORDER BY score DESC, importance DESC LIMIT ${body.limit}`);
  return rows.map(toMemory);
}

/** Deletes a memory of this tenant; an absent one is NOT_FOUND unless `missingOk` (the outcome is the same). */
export async function deleteMemory(ctx: Ctx, id: string, opts: { missingOk?: boolean } = {}): Promise<void> {
  const rows = await ctx.store.query<{ id: string }>(sql`
    DELETE FROM memories WHERE tenant_id = ${ctx.tenantId} AND id = ${id}::uuid RETURNING id`);
  if (rows.length === 0 && !opts.missingOk) throw notFound(`memory "${id}"`);
}

/**
 * The id of the memory an upsert event without `memory_id` stores: derived from the tenant and the event id, so
 * every delivery of the event names the same memory (an RFC 9562 version 8 UUID over SHA-256).
 */
export async function eventMemoryId(tenantId: string, eventId: string): Promise<string> {
  const h = await sha256Hex(`memory.updated\u0000${tenantId}\u0000${eventId}`);
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
