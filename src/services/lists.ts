// The lists of a tenant's sessions, users and agents, newest first, a page at a time (keyset pages: a page's cursor
// is the sort key of its last row, so rows written meanwhile neither shift nor repeat the pages after it).
import { sql, type SQL } from 'drizzle-orm';
import { int, json } from '../db/decode.js';
import { ApiError } from '../errors.js';
import type { Ctx } from '../ports.js';
import { decodeCursor, encodeCursor } from '../schemas/common.js';
import { OwnerCursor, type AgentSummary, type ListOwnersQuery, type UserSummary } from '../schemas/owners.js';
import { SessionCursor, type ListSessionsQuery, type SessionSummary } from '../schemas/sessions.js';

interface Page<T> {
  rows: T[];
  next_cursor: string | null;
}

/** The rows after `cursor` in (created_at, id) descending order; `list` reads `limit + 1` to know if more follow. */
async function page<R extends { id: string; cursor_at: string }>(
  cursor: string | undefined,
  parts: typeof SessionCursor | typeof OwnerCursor,
  limit: number,
  list: (after: SQL, limit: number) => Promise<R[]>,
): Promise<Page<R>> {
  let after: SQL = sql`true`;
  if (cursor) {
    // The query schema has refused any other cursor; this stays as the guard for callers that skip it.
    const at = decodeCursor(cursor, parts);
    if (!at) throw new ApiError('BAD_REQUEST', 'cursor: not a cursor this API returned');
    after = sql`(created_at, id) < (${at[0]}::timestamptz, ${at[1]}::text)`;
  }
  const rows = await list(after, limit + 1);
  const kept = rows.slice(0, limit);
  const last = kept[kept.length - 1];
  return { rows: kept, next_cursor: rows.length > limit && last ? encodeCursor([last.cursor_at, last.id]) : null };
}

const iso = (v: string) => new Date(v).toISOString();

export async function listSessions(
  ctx: Ctx,
  q: ListSessionsQuery,
): Promise<{ sessions: SessionSummary[]; next_cursor: string | null }> {
  type Row = Omit<SessionSummary, 'session_id' | 'turn_count'> & {
    id: string;
    cursor_at: string;
    last_sequence: number;
  };
  const owner: SQL[] = [];
  if (q.user_id) owner.push(sql`AND user_id = ${q.user_id}`);
  if (q.agent_id) owner.push(sql`AND agent_id = ${q.agent_id}`);
  const { rows, next_cursor } = await page<Row>(q.cursor, SessionCursor, q.limit, (after, limit) =>
    ctx.store.query<Row>(sql`
      SELECT id, agent_id, user_id, status, metadata, last_sequence, total_tokens, version, created_at, updated_at,
             created_at::text AS cursor_at
      FROM sessions WHERE tenant_id = ${ctx.tenantId} ${sql.join(owner, sql` `)} AND ${after}
      ORDER BY created_at DESC, id DESC LIMIT ${limit}`),
  );
  return {
    sessions: rows.map((r) => ({
      session_id: r.id,
      agent_id: r.agent_id,
      user_id: r.user_id,
      status: r.status,
      metadata: json(r.metadata),
      turn_count: int(r.last_sequence),
      total_tokens: int(r.total_tokens),
      version: int(r.version),
      created_at: iso(r.created_at),
      updated_at: iso(r.updated_at),
    })),
    next_cursor,
  };
}

export async function listUsers(
  ctx: Ctx,
  q: ListOwnersQuery,
): Promise<{ users: UserSummary[]; next_cursor: string | null }> {
  type Row = { id: string; cursor_at: string; created_at: string; session_count: number };
  const { rows, next_cursor } = await page<Row>(q.cursor, OwnerCursor, q.limit, (after, limit) =>
    ctx.store.query<Row>(sql`
      SELECT id, created_at, created_at::text AS cursor_at,
             (SELECT count(*)::int FROM sessions s WHERE s.tenant_id = u.tenant_id AND s.user_id = u.id) AS session_count
      FROM users u WHERE tenant_id = ${ctx.tenantId} AND ${after}
      ORDER BY created_at DESC, id DESC LIMIT ${limit}`),
  );
  return {
    users: rows.map((r) => ({ user_id: r.id, session_count: int(r.session_count), created_at: iso(r.created_at) })),
    next_cursor,
  };
}

export async function listAgents(
  ctx: Ctx,
  q: ListOwnersQuery,
): Promise<{ agents: AgentSummary[]; next_cursor: string | null }> {
  type Row = Omit<AgentSummary, 'agent_id'> & { id: string; cursor_at: string };
  const { rows, next_cursor } = await page<Row>(q.cursor, OwnerCursor, q.limit, (after, limit) =>
    ctx.store.query<Row>(sql`
      SELECT id, name, description, llm_provider, created_at, updated_at, created_at::text AS cursor_at,
             (SELECT count(*)::int FROM sessions s WHERE s.tenant_id = a.tenant_id AND s.agent_id = a.id) AS session_count
      FROM agents a WHERE tenant_id = ${ctx.tenantId} AND ${after}
      ORDER BY created_at DESC, id DESC LIMIT ${limit}`),
  );
  return {
    agents: rows.map((r) => ({
      agent_id: r.id,
      name: r.name,
      description: r.description,
      llm_provider: r.llm_provider,
      session_count: int(r.session_count),
      created_at: iso(r.created_at),
      updated_at: iso(r.updated_at),
    })),
    next_cursor,
  };
}
