// Recall across sessions: a session with a user searches the user's history with its agent (every session's turns in
// one sequence, in the order written) the way it searches one session; its other sessions' constraints reach it too.
import { sql } from 'drizzle-orm';
import { readRows } from '../../db/store.js';
import type { Ctx } from '../../ports.js';
import { forgetCandidateRows } from './candidate-rows.js';
import { forgetWords } from './semantic.js';
import { copyBound, forgetSnapshot, snapshotHistorySource } from './snapshot.js';
import { sqlHistorySource } from './sql-source.js';
import { forgetTermMatches } from './term-matches.js';
import { memoIdOf, type HistorySource, type TurnRow } from './types.js';
import { forgetVectors } from './vector-seeds.js';

/** Whose turns a query recalls: the session's own, or every session of its user with the same agent. */
export type HistoryScope = 'session' | 'user';

/** A user's history with one agent, as the session row reads it (user_histories). */
export interface UserHistory {
  id: string;
  last_sequence: number;
  total_tokens: number;
  /** Moves with every write to one of its sessions and every deletion of one. */
  version: number;
  /** Moves when turns leave the history (a session deleted or moved): what a process derived from it is read afresh. */
  epoch: number;
  /** Its creation time in microseconds: a history deleted with its user and created again is another one. */
  incarnation: string;
}

/** What choosing the scope reads of the session row. */
export interface HistoryOwner {
  user_id: string | null;
  /** The agent's `config.history_scope`, when it sets one. */
  agent_history_scope: string | null;
  history: UserHistory | null;
}

/**
 * The history a query recalls, or undefined when it searches the session alone: the request's `history_scope`, else
 * the agent's, else `user`, which needs a session with a user.
 */
export function recalledHistory(session: HistoryOwner, requested: HistoryScope | undefined): UserHistory | undefined {
  const agent = session.agent_history_scope;
  const scope = requested ?? (agent === 'session' || agent === 'user' ? agent : 'user');
  return scope === 'user' && session.user_id !== null ? (session.history ?? undefined) : undefined;
}

/** The history as one session to the per-session memos and searches: its own key, and its epoch as its incarnation. */
export function historySession(h: UserHistory) {
  return {
    id: memoIdOf({ kind: 'history', id: h.id }),
    created_at: `${h.incarnation}.${h.epoch}`,
    last_sequence: h.last_sequence,
    total_tokens: h.total_tokens,
    history_id: h.id,
  };
}

/** A small history's turns from this process's copy; a larger one's (or when the copy fails) from the database. */
export async function historySource(ctx: Ctx, h: UserHistory): Promise<HistorySource> {
  const as = historySession(h);
  const maxBytes = copyBound(ctx.env, ctx.tenantId, { kind: 'history', id: h.id }, as);
  if (maxBytes !== undefined) {
    try {
      return await snapshotHistorySource(ctx.store, ctx.tenantId, h.id, as, maxBytes);
    } catch (err) {
      ctx.logger.warn('history copy failed; reading the database', { error: (err as Error).message });
    }
  }
  return sqlHistorySource(ctx.store, ctx.tenantId, h.id, as);
}

/** Drops what this process derived from a history (one of its sessions deleted: its content must not outlive it). */
export function forgetHistory(tenantId: string, historyId: string): void {
  const id = memoIdOf({ kind: 'history', id: historyId });
  forgetSnapshot(tenantId, id);
  forgetTermMatches(tenantId, id);
  forgetCandidateRows(tenantId, id);
  forgetVectors(tenantId, id);
  forgetWords(tenantId, id);
}

/** What the user's other sessions bring beside their ranked turns, as a resumed session's carry-over does. */
export interface EarlierSessions {
  /** Their system turns, newest first: each text once, and none the session states itself. */
  constraints: TurnRow[];
  /** The declared tasks (`metadata.task`) of the latest of them, newest first. */
  tasks: { session_id: string; task: string; created_at: string; position: number }[];
}

/** System turns of other sessions read (before repeated texts are left out), and the most kept. */
const CONSTRAINTS_READ = 40;
const CONSTRAINTS_KEPT = 10;
/** Declared tasks of the latest other sessions. */
const TASKS = 3;

/**
 * The constraints and tasks of the user's other sessions with the agent: one read of the history's system turns and
 * one of the latest sessions that declared a task, each bounded by an index.
 */
export async function earlierSessions(
  ctx: Ctx,
  session: { id: string; user_id: string | null; agent_id: string | null },
  source: HistorySource,
  own: readonly TurnRow[],
): Promise<EarlierSessions> {
  const agent = session.agent_id === null ? sql`s.agent_id IS NULL` : sql`s.agent_id = ${session.agent_id}`;
  const [system, tasks] = await Promise.all([
    source.constraints(session.id, CONSTRAINTS_READ),
    readRows<{ id: string; task: string; created_at: string; position: number | string | null }>(
      ctx.store,
      sql`
      SELECT s.id, s.metadata ->> 'task' AS task, coalesce(f.created_at, s.created_at) AS created_at,
             f.history_sequence AS position
      FROM sessions s
      LEFT JOIN LATERAL (
        SELECT created_at, history_sequence FROM turns t
        WHERE t.tenant_id = s.tenant_id AND t.session_id = s.id ORDER BY t.sequence LIMIT 1
      ) f ON true
      WHERE s.tenant_id = ${ctx.tenantId} AND s.user_id = ${session.user_id} AND ${agent}
        AND (s.metadata ->> 'task') IS NOT NULL AND s.id <> ${session.id}
      ORDER BY s.created_at DESC LIMIT ${TASKS}`,
    ),
  ]);
  const seen = new Set(own.map((t) => t.content));
  const constraints = system.filter((t) => !seen.has(t.content) && seen.add(t.content)).slice(0, CONSTRAINTS_KEPT);
  return {
    constraints,
    tasks: tasks.map((r) => ({
      session_id: r.id,
      task: r.task,
      created_at: new Date(r.created_at).toISOString(),
      position: r.position === null ? 0 : Number(r.position),
    })),
  };
}
