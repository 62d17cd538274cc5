// Session reads shared by the services: one round trip for the session, its window and its agent's groups.
import { sql } from 'drizzle-orm';
import { joinKey } from '../cache-keys.js';
import { bool, int, intOrNull, json } from '../db/decode.js';
import { notFound } from '../errors.js';
import { lexemesKnown, queryLexemesColumn, rememberLexemes } from '../pipeline/retriever/query-lexemes.js';
import type { UserHistory } from '../pipeline/retriever/user-history.js';
import type { Store } from '../db/store.js';
import type { Ctx, Deps } from '../ports.js';

export interface SessionRow {
  id: string;
  agent_id: string | null;
  user_id: string | null;
  status: string;
  metadata: Record<string, unknown>;
  last_sequence: number;
  version: number;
  total_tokens: number;
  created_at: string;
  /** The session's creation time in microseconds: tells a re-created session from the deleted one of that id. */
  incarnation: string;
  updated_at: string;
  max_tokens: number | null;
  compression_strategy: string | null;
  summary: string | null;
  summary_token_count: number | null;
  summarized_through: number | null;
  summarized_tokens: number | null;
  window_version: number | null;
  agent_groups: string[];
  /** The agent's `config.history_scope`, when it sets one. */
  agent_history_scope: string | null;
  /** The user's history with the session's agent; null for a session without a user. */
  history: UserHistory | null;
  /** Whether a current memory may be visible to the session (read by findSession); false: recall would find none. */
  memories?: boolean;
}

/** The session row's columns, joined with its window and its agent's groups; `s` is the session. */
export const sessionColumns = sql`
    s.id, s.agent_id, s.user_id, s.status, s.metadata, s.last_sequence, s.version, s.total_tokens,
    s.created_at, (extract(epoch FROM s.created_at) * 1000000)::bigint::text AS incarnation,
    s.updated_at, w.max_tokens, w.compression_strategy, w.summary, w.summary_token_count,
    w.summarized_through, w.summarized_tokens, w.version AS window_version,
    coalesce(a.config -> 'groups', '[]'::jsonb) AS agent_groups, a.config ->> 'history_scope' AS agent_history_scope,
    h.id AS history_id, h.last_sequence AS history_last_sequence, h.total_tokens AS history_total_tokens,
    h.version AS history_version, h.epoch AS history_epoch,
    (extract(epoch FROM h.created_at) * 1000000)::bigint::text AS history_incarnation`;

/** FROM clause for `sessionColumns`: the session, its window, its agent and its user's history with that agent. */
export const sessionJoins = sql`
    sessions s
    LEFT JOIN context_windows w ON w.tenant_id = s.tenant_id AND w.session_id = s.id
    LEFT JOIN agents a ON a.tenant_id = s.tenant_id AND a.id = s.agent_id
    LEFT JOIN user_histories h ON h.tenant_id = s.tenant_id AND h.user_id = s.user_id
      AND h.agent_key = coalesce(s.agent_id, '')`;

/**
 * Whether any current memory may be visible to the session `s`: a superset of recallMemories' ownership rules (an
 * agent's memory shared with any group counts), one index probe per kind of owner. Read with the session row, so a
 * QueryContext without memories to recall sends no recall statement.
 */
const anyMemories = sql`(
    EXISTS (SELECT 1 FROM memories m WHERE m.tenant_id = s.tenant_id AND m.scope = 'user' AND m.user_id = s.user_id
      AND m.valid_to IS NULL)
    OR EXISTS (SELECT 1 FROM memories m WHERE m.tenant_id = s.tenant_id AND m.scope = 'agent'
      AND (m.agent_id = s.agent_id OR cardinality(m.shared_group_ids) > 0) AND m.valid_to IS NULL)
    OR EXISTS (SELECT 1 FROM memories m WHERE m.tenant_id = s.tenant_id AND m.session_id = s.id AND m.valid_to IS NULL))`;

/**
 * The session row (undefined when there is none). `opts.lexemesOf`: the query whose lexemes (history.ts
 * queryLexemes) are read in the same statement and remembered, asked for only when a statement is sent.
 */
export async function findSession(
  deps: Deps,
  tenantId: string,
  sessionId: string,
  opts: { lexemesOf?: () => string | undefined } = {},
): Promise<SessionRow | undefined> {
  const key = `${tenantId}\u0000${sessionId}`;
  const memo = sessionMemo(deps.store);
  const hit = memo?.rows.get(key);
  if (hit) return structuredClone(hit);
  const before = deps.store.statementCount?.();
  // A query asked before has its lexemes remembered already.
  const query = opts.lexemesOf?.();
  const lexemesOf = query !== undefined && !lexemesKnown(deps.store, query) ? query : undefined;
  const [row] = await deps.store.query<SessionRow & { query_lexemes?: unknown }>(sql`
    SELECT ${sessionColumns}, ${anyMemories} AS memories
      ${lexemesOf === undefined ? sql`` : sql`, ${queryLexemesColumn(lexemesOf)} AS query_lexemes`}
    FROM ${sessionJoins}
    WHERE s.tenant_id = ${tenantId} AND s.id = ${sessionId}`);
  if (row && lexemesOf !== undefined) rememberLexemes(lexemesOf, String(row.query_lexemes ?? ''));
  const session = row ? toSessionRow(row) : undefined;
  // Only when no other statement ran beside this read (the count moved by its own two): no write came after it, and
  // the rows already remembered stay current.
  if (memo && memo.at === before && deps.store.statementCount?.() === before + 2) {
    memo.at = before + 2;
    if (session && memo.rows.size < SESSION_MEMO_MAX) memo.rows.set(key, structuredClone(session));
  }
  return session;
}

/**
 * Session rows read on the embedded database, per store, while it has run no statement since (Store.statementCount):
 * repeated QueryContexts of an unchanged session then read nothing. Any statement empties it.
 */
const sessionMemos = new WeakMap<Store, { at: number; rows: Map<string, SessionRow> }>();
const SESSION_MEMO_MAX = 1000;

function sessionMemo(store: Store) {
  const count = store.statementCount?.();
  if (count === undefined) return undefined;
  let memo = sessionMemos.get(store);
  if (!memo) sessionMemos.set(store, (memo = { at: count, rows: new Map() }));
  if (memo.at !== count) {
    memo.rows.clear();
    memo.at = count;
  }
  return memo;
}

/** A row of `sessionColumns` with driver-specific types made uniform. */
export function toSessionRow(row: SessionRow & HistoryColumns): SessionRow {
  const groups = json(row.agent_groups);
  return {
    id: row.id,
    agent_id: row.agent_id,
    user_id: row.user_id,
    status: row.status,
    metadata: json(row.metadata),
    last_sequence: int(row.last_sequence),
    version: int(row.version),
    total_tokens: int(row.total_tokens),
    created_at: new Date(row.created_at).toISOString(),
    incarnation: String(row.incarnation),
    updated_at: new Date(row.updated_at).toISOString(),
    max_tokens: intOrNull(row.max_tokens),
    compression_strategy: row.compression_strategy,
    summary: row.summary,
    summary_token_count: intOrNull(row.summary_token_count),
    summarized_through: intOrNull(row.summarized_through),
    summarized_tokens: intOrNull(row.summarized_tokens),
    window_version: intOrNull(row.window_version),
    agent_groups: Array.isArray(groups) ? groups.filter((g): g is string => typeof g === 'string') : [],
    agent_history_scope: row.agent_history_scope ?? null,
    history:
      row.history_id === null || row.history_id === undefined
        ? null
        : {
            id: row.history_id,
            last_sequence: int(row.history_last_sequence),
            total_tokens: int(row.history_total_tokens),
            version: int(row.history_version),
            epoch: int(row.history_epoch),
            incarnation: String(row.history_incarnation),
          },
    ...(row.memories === undefined || row.memories === null ? {} : { memories: bool(row.memories) }),
  };
}

/** The history's columns as `sessionColumns` reads them. */
interface HistoryColumns {
  history_id?: string | null;
  history_last_sequence?: number | string;
  history_total_tokens?: number | string;
  history_version?: number | string;
  history_epoch?: number | string;
  history_incarnation?: string;
  memories?: boolean | string | null;
}

export async function requireSession(
  ctx: Ctx,
  sessionId: string,
  opts: { lexemesOf?: () => string | undefined } = {},
): Promise<SessionRow> {
  const session = await findSession(ctx, ctx.tenantId, sessionId, opts);
  if (!session) throw notFound(`session "${sessionId}"`);
  return session;
}

/** Cache keys of one session share this prefix (its parts escaped, so no other tenant's or session's key has it). */
export const sessionCachePrefix = (tenantId: string, sessionId: string) => `${joinKey('ctx', tenantId, sessionId)}:`;

/**
 * What a cached context of the session is valid for: this incarnation of the session id (a session deleted and
 * created again is another one, even if a deletion could not reach the cache), its version and its window's version.
 */
export const sessionCacheVersion = (s: Pick<SessionRow, 'incarnation' | 'version' | 'window_version'>) =>
  `i${s.incarnation}.v${s.version}.${s.window_version ?? 0}`;

/**
 * Cache keys of contexts that recall a user's history share this prefix, whichever of its sessions they were assembled
 * for: deleting one of those sessions drops them all, as each may hold that session's turns.
 */
export const historyCachePrefix = (tenantId: string, historyId: string) => `${joinKey('ctxh', tenantId, historyId)}:`;

/** What a context recalling the history is valid for: this incarnation of the history, its version and its epoch. */
export const historyCacheVersion = (h: Pick<UserHistory, 'incarnation' | 'version' | 'epoch'>) =>
  `h${h.incarnation}.v${h.version}.e${h.epoch}`;
