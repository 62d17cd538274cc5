// WriteQA: a batch of turns stored in order by one SQL statement (session upsert, sequences, turns, idempotency record;
// ADR 0001), after one statement that reads what it needs first: a write is two round trips.
import { sql } from 'drizzle-orm';
import { defaults } from '../config/tuning.js';
import { sha256Hex } from '../crypto.js';
import { bool, int, json } from '../db/decode.js';
import { isDeadlock, isUniqueViolation } from '../db/errors.js';
import { pgTextArray } from '../db/store.js';
import { ApiError } from '../errors.js';
import { pacer } from '../event-loop.js';
import type { Ctx } from '../ports.js';
import type { TurnInput, WriteTurnsBody, WriteTurnsResponse } from '../schemas/turns.js';
import { publishEvent } from './events/publish.js';
import { enqueuePrecompute } from './precompute.js';
import { enqueueEmbed } from './turn-vectors.js';
import { enqueueLearn } from './learn-memories.js';
import { carryOverFor } from './resume.js';
import { sessionColumns, sessionJoins, toSessionRow, type SessionRow } from './sessions.js';

interface StoredResponse {
  base: number;
  created: boolean;
  total_tokens: number;
  turns: { id: string; ord: number | null; sequence: number | null; token_count: number; external_id: string | null }[];
}

/**
 * Reads and writes before giving up on concurrent writers. Each lost race means another writer committed one of
 * this batch's keys (the idempotency key or an external id), which the next read then sees, so a batch needs at
 * most one retry per key it shares with concurrent writers.
 */
const MAX_ATTEMPTS = 8;

export async function writeTurns(
  ctx: Ctx,
  input: { sessionId: string; body: WriteTurnsBody; idempotencyKey?: string | undefined },
): Promise<WriteTurnsResponse & { replayed: boolean }> {
  const { sessionId, body } = input;
  const externalIds = body.turns.map((t) => t.external_id).filter((x): x is string => !!x);
  if (new Set(externalIds).size !== externalIds.length)
    throw new ApiError('BAD_REQUEST', 'turns: external_id values must be unique within a batch');

  const requestHash = input.idempotencyKey ? await sha256Hex(JSON.stringify([sessionId, body])) : '';
  for (let attempt = 0; ; attempt++) {
    const before = await readBeforeWrite(ctx, sessionId, input.idempotencyKey, externalIds);
    if (before.replay) {
      if (before.replay.request_hash !== requestHash)
        throw new ApiError('CONFLICT', 'Idempotency-Key was already used with a different request');
      const stored: StoredResponse = json(before.replay.response);
      return { ...toResponse(sessionId, stored, false), replayed: true };
    }
    try {
      return await writeOnce(ctx, sessionId, body, before, input.idempotencyKey, requestHash);
    } catch (err) {
      // A concurrent writer got there first (same idempotency key or same external_id): look again, and answer
      // as a sequential duplicate would. Every driver's error is wrapped by drizzle; the helper finds its code.
      // A deadlock with a compaction of the session aborted the statement whole: write again.
      if (attempt + 1 < MAX_ATTEMPTS && (isUniqueViolation(err) || isDeadlock(err))) continue;
      throw err;
    }
  }
}

interface BeforeWrite {
  /** The stored answer to this idempotency key, if it was used before. */
  replay: { request_hash: string; response: StoredResponse | string } | undefined;
  session: SessionRow | undefined;
  /** Turns of the session already stored under the batch's external ids. */
  known: Map<string, { id: string; sequence: number; token_count: number }>;
}

/** What a write needs to know first, in one round trip: the idempotency record, the session, known external ids. */
async function readBeforeWrite(
  ctx: Ctx,
  sessionId: string,
  key: string | undefined,
  externalIds: string[],
): Promise<BeforeWrite> {
  const t = ctx.tenantId;
  const [row] = await ctx.store.query<
    SessionRow & {
      session_found: boolean | string | null;
      idem_request_hash: string | null;
      idem_response: StoredResponse | string | null;
      known: { id: string; sequence: number; token_count: number; external_id: string }[] | string | null;
    }
  >(sql`
    SELECT ${sessionColumns}, s.id IS NOT NULL AS session_found,
           i.request_hash AS idem_request_hash, i.response AS idem_response,
           ${externalIds.length > 0 ? sql`k.known` : sql`NULL::jsonb AS known`}
    FROM (SELECT 1) AS one
    LEFT JOIN (${sessionJoins}) ON s.tenant_id = ${t} AND s.id = ${sessionId}
    LEFT JOIN idempotency_keys i ON i.tenant_id = ${t} AND i.key = ${key ?? null}::text
    ${
      externalIds.length > 0
        ? sql`LEFT JOIN LATERAL (
          SELECT jsonb_agg(jsonb_build_object('id', id, 'sequence', sequence, 'token_count', token_count, 'external_id', external_id)) AS known
          FROM turns WHERE tenant_id = ${t} AND session_id = ${sessionId} AND external_id = ANY(${pgTextArray(externalIds)}::text[])
        ) k ON true`
        : sql``
    }`);
  const found = bool(row!.session_found);
  const known = new Map<string, { id: string; sequence: number; token_count: number }>();
  const knownRows = json(row!.known);
  for (const r of knownRows ?? [])
    known.set(r.external_id, { id: r.id, sequence: int(r.sequence), token_count: int(r.token_count) });
  return {
    replay:
      key && row!.idem_request_hash !== null
        ? { request_hash: row!.idem_request_hash, response: row!.idem_response! }
        : undefined,
    session: found ? toSessionRow(row!) : undefined,
    known,
  };
}

/**
 * Whether this write gives the session its first user, or its first agent once it has a user: its earlier turns then
 * move into the history of its new owner (and out of the one without an agent).
 */
function ownerGained(existing: SessionRow | undefined, body: WriteTurnsBody): boolean {
  if (!existing) return false;
  return existing.user_id === null ? !!body.user_id : existing.agent_id === null && !!body.agent_id;
}

/**
 * The write's place in the history of the session's user with its agent (`s` is the session upsert): positions for
 * the new turns, and for the session's earlier ones when they move in; a move starts the history's copies afresh.
 */
function historyUpsert(t: string, n: number, tokens: number, moves: boolean) {
  return sql`
      INSERT INTO user_histories (tenant_id, user_id, agent_key, last_sequence, total_tokens, version)
      SELECT ${t}, s.user_id, coalesce(s.agent_id, ''), ${n}${moves ? sql` + s.base` : sql``},
             ${tokens}${moves ? sql` + s.base_tokens` : sql``}, 1
      FROM s WHERE s.user_id IS NOT NULL
      ON CONFLICT (tenant_id, user_id, agent_key) DO UPDATE SET
        last_sequence = user_histories.last_sequence + excluded.last_sequence,
        total_tokens = user_histories.total_tokens + excluded.total_tokens,
        version = user_histories.version + 1${moves ? sql`, epoch = user_histories.epoch + 1` : sql``}
      RETURNING id, last_sequence`;
}

/** The session's earlier turns placed before the new ones in its owner's history, leaving the one they were in. */
function movedTurns(t: string, sessionId: string, n: number, existing: SessionRow) {
  const left = existing.user_id !== null;
  return sql`
    mv AS (
      UPDATE turns SET history_id = h.id, history_sequence = h.last_sequence - ${n} - s.base + turns.sequence
      FROM s, h WHERE turns.tenant_id = ${t} AND turns.session_id = ${sessionId} AND turns.sequence <= s.base
    )${
      left
        ? sql`,
    lv AS (
      UPDATE user_histories SET version = user_histories.version + 1, epoch = user_histories.epoch + 1,
        total_tokens = greatest(0, user_histories.total_tokens - s.base_tokens)
      FROM s WHERE user_histories.tenant_id = ${t} AND user_histories.user_id = ${existing.user_id}
        AND user_histories.agent_key = '' AND s.agent_id IS NOT NULL
    )`
        : sql``
    }`;
}

function toResponse(sessionId: string, stored: StoredResponse, compressionQueued: boolean): WriteTurnsResponse {
  return {
    session_id: sessionId,
    session_created: stored.created,
    turns: stored.turns.map((t) => ({
      id: t.id,
      sequence: t.sequence ?? stored.base + (t.ord ?? 0),
      token_count: t.token_count,
      external_id: t.external_id,
      duplicate: t.ord === null,
    })),
    total_tokens: stored.total_tokens,
    compression_queued: compressionQueued,
  };
}

export function countTurnTokens(ctx: Pick<Ctx, 'tokenizer'>, t: Pick<TurnInput, 'content' | 'name' | 'tool_calls'>) {
  const calls = t.tool_calls?.map((c) => `${c.name}(${argumentsText(c.arguments)})`).join('\n') ?? '';
  return ctx.tokenizer.count(t.content) + (calls ? ctx.tokenizer.count(calls) : 0);
}

export const argumentsText = (a: string | Record<string, unknown>) => (typeof a === 'string' ? a : JSON.stringify(a));

async function writeOnce(
  ctx: Ctx,
  sessionId: string,
  body: WriteTurnsBody,
  before: BeforeWrite,
  idempotencyKey: string | undefined,
  requestHash: string,
): Promise<WriteTurnsResponse & { replayed: boolean }> {
  const existing = before.session;
  if (existing) {
    if (body.user_id && existing.user_id && body.user_id !== existing.user_id)
      throw new ApiError('CONFLICT', `session "${sessionId}" belongs to another user_id`);
    if (body.agent_id && existing.agent_id && body.agent_id !== existing.agent_id)
      throw new ApiError('CONFLICT', `session "${sessionId}" belongs to another agent_id`);
  }
  const carry = await carryOverFor(ctx, sessionId, body, existing);
  const metadata = carry ? { ...body.metadata, resumed_from: carry.from } : (body.metadata ?? {});
  const known = before.known;

  let ord = 0;
  const rows: Record<string, unknown>[] = [];
  const summary: StoredResponse['turns'] = [];
  // Counting a large batch's tokens takes seconds for some text: other requests get a turn every few turns.
  const pace = pacer();
  for (const t of body.turns) {
    await pace();
    const dup = t.external_id ? known.get(t.external_id) : undefined;
    if (dup) {
      summary.push({
        id: dup.id,
        ord: null,
        sequence: dup.sequence,
        token_count: dup.token_count,
        external_id: t.external_id ?? null,
      });
      continue;
    }
    ord += 1;
    const id = crypto.randomUUID();
    const tokenCount = countTurnTokens(ctx, t);
    const toolCalls = t.tool_calls?.map((c) => ({ id: c.id, name: c.name, arguments: argumentsText(c.arguments) }));
    rows.push({
      id,
      ord,
      type: t.role === 'tool' || toolCalls ? 'tool' : 'history',
      role: t.role,
      name: t.name ?? null,
      content: t.content,
      token_count: tokenCount,
      importance: t.importance ?? 0.5,
      external_id: t.external_id ?? null,
      tool_call_id: t.tool_call_id ?? null,
      tool_calls: toolCalls ?? null,
      metadata: t.metadata ?? {},
      created_at: t.created_at ?? null,
    });
    summary.push({ id, ord, sequence: null, token_count: tokenCount, external_id: t.external_id ?? null });
  }

  if (rows.length === 0) {
    const stored: StoredResponse = { base: 0, created: false, total_tokens: existing!.total_tokens, turns: summary };
    return { ...toResponse(sessionId, stored, false), replayed: false };
  }

  const n = rows.length;
  const tokens = rows.reduce((s, r) => s + (r.token_count as number), 0);
  const t = ctx.tenantId;
  const moves = ownerGained(existing, body);
  const [result] = await ctx.store.query<{
    base: number;
    created: boolean;
    total_tokens: number;
    session_version: number;
    max_tokens: number | null;
    summarized_tokens: number | null;
  }>(sql`
    WITH s AS (
      INSERT INTO sessions (tenant_id, id, agent_id, user_id, metadata, last_sequence, version, total_tokens)
      VALUES (${t}, ${sessionId}, ${body.agent_id ?? null}, ${body.user_id ?? null},
              ${JSON.stringify(metadata)}::jsonb, ${n}, 1, ${tokens})
      ON CONFLICT (tenant_id, id) DO UPDATE SET
        last_sequence = sessions.last_sequence + ${n},
        version = sessions.version + 1,
        total_tokens = sessions.total_tokens + ${tokens},
        agent_id = coalesce(sessions.agent_id, excluded.agent_id),
        user_id = coalesce(sessions.user_id, excluded.user_id),
        metadata = sessions.metadata || excluded.metadata,
        updated_at = now()
      RETURNING sessions.last_sequence - ${n} AS base, sessions.total_tokens, sessions.version, (xmax = 0) AS created,
        sessions.user_id, sessions.agent_id, sessions.total_tokens - ${tokens} AS base_tokens
    ),
    h AS (${historyUpsert(t, n, tokens, moves)}),
    ${moves ? sql`${movedTurns(t, sessionId, n, existing!)},` : sql``}
    u AS (
      INSERT INTO users (tenant_id, id) SELECT ${t}, ${body.user_id ?? null}::text WHERE ${body.user_id ?? null}::text IS NOT NULL
      ON CONFLICT DO NOTHING
    ),
    a AS (
      INSERT INTO agents (tenant_id, id) SELECT ${t}, ${body.agent_id ?? null}::text WHERE ${body.agent_id ?? null}::text IS NOT NULL
      ON CONFLICT DO NOTHING
    ),
    w AS (
      INSERT INTO context_windows (tenant_id, session_id, max_tokens, compression_strategy, summary, summary_token_count)
      VALUES (${t}, ${sessionId}, ${defaults.windowMaxTokens}, ${defaults.compressionStrategy}, ${carry?.text ?? ''}, ${carry?.tokens ?? 0})
      ON CONFLICT DO NOTHING
    ),
    ins AS (
      INSERT INTO turns (id, tenant_id, session_id, sequence, type, role, name, content, token_count, importance,
                         external_id, tool_call_id, tool_calls, metadata, created_at, history_id, history_sequence)
      SELECT r.id, ${t}, ${sessionId}, s.base + r.ord, r.type, r.role, r.name, r.content, r.token_count, r.importance,
             r.external_id, r.tool_call_id, r.tool_calls, r.metadata, coalesce(r.created_at, now()),
             h.id, h.last_sequence - ${n} + r.ord
      FROM s LEFT JOIN h ON true, jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS r(
        id uuid, ord int, type text, role text, name text, content text, token_count int, importance real,
        external_id text, tool_call_id text, tool_calls jsonb, metadata jsonb, created_at timestamptz)
      RETURNING 1
    ),
    idem AS (
      INSERT INTO idempotency_keys (tenant_id, key, request_hash, session_id, response)
      SELECT ${t}, ${idempotencyKey ?? null}::text, ${requestHash}, ${sessionId},
             jsonb_build_object('base', s.base, 'created', s.created, 'total_tokens', s.total_tokens,
                                'turns', ${JSON.stringify(summary)}::jsonb)
      FROM s WHERE ${idempotencyKey ?? null}::text IS NOT NULL
    )
    SELECT s.base, s.created, s.total_tokens, s.version AS session_version, w.max_tokens, w.summarized_tokens,
           (SELECT count(*) FROM ins) AS inserted
    FROM s LEFT JOIN context_windows w ON w.tenant_id = ${t} AND w.session_id = ${sessionId}`);
  const stored: StoredResponse = {
    base: int(result!.base),
    created: bool(result!.created),
    total_tokens: int(result!.total_tokens),
    turns: summary,
  };
  const maxTokens = result!.max_tokens === null ? defaults.windowMaxTokens : int(result!.max_tokens);
  const unsummarized = stored.total_tokens - int(result!.summarized_tokens ?? 0);
  let queued = false;
  if (unsummarized > maxTokens) {
    try {
      await ctx.queue.send({
        kind: 'compress',
        mode: 'threshold',
        tenant_id: t,
        session_id: sessionId,
        job_id: crypto.randomUUID(),
      });
      queued = true;
    } catch (err) {
      // The turns are stored; the next write, a rebuild or the maintenance sweep picks the compression up again.
      ctx.logger.warn('could not enqueue compression', { session_id: sessionId, error: err });
    }
  }
  const sessionVersion = int(result!.session_version);
  // Queued after any compression job: a compaction moves the version and queues a precompute of its own, so this
  // one then skips instead of warming a context that is about to be replaced. Memories are learned from what a
  // session's user says, queued first so the context warmed next recalls them. None of these calls throws; side by
  // side, the write waits only for the slowest.
  const learns = !!(body.user_id ?? existing?.user_id) && rows.some((r) => r.role === 'user');
  await Promise.all([
    learns ? enqueueLearn(ctx, t, sessionId) : undefined,
    enqueuePrecompute(ctx, t, sessionId, sessionVersion),
    enqueueEmbed(ctx, t, sessionId),
    publishEvent(ctx, {
      type: 'turns.written',
      tenant_id: t,
      session_id: sessionId,
      session_version: sessionVersion,
      first_sequence: stored.base + 1,
      last_sequence: stored.base + n,
      turn_count: n,
      total_tokens: stored.total_tokens,
    }),
  ]);
  return { ...toResponse(sessionId, stored, queued), ...(carry ? { resumed_from: carry.from } : {}), replayed: false };
}
