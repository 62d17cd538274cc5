// Learned memories (ADR 0015): a job reads a user's session past its learning cursor and stores what the turns say
// about the user (model operations with an LLM, the extractive path otherwise), moving the cursor in that statement.
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { defaults } from '../config/tuning.js';
import { int, json } from '../db/decode.js';
import { pgTextArray } from '../db/store.js';
import type { JobResult } from '../jobs/schema.js';
import { toTsQuery } from '../pipeline/text.js';
import type { Deps, LearnJob, MemoryPrompt } from '../ports.js';
import {
  extractStatements,
  planStatements,
  type CurrentMemory,
  type EndedMemory,
  type LearnPlan,
  type LearnTurn,
  type NewMemory,
} from './learn-extractive.js';

/** Queues learning after a write to a user's session; a lost job is caught up by the next write's, so it only logs. */
export async function enqueueLearn(deps: Deps, tenantId: string, sessionId: string): Promise<void> {
  if (!deps.env.CONTEXT_LEARN_MEMORIES) return;
  try {
    await deps.queue.send({ kind: 'learn', tenant_id: tenantId, session_id: sessionId, job_id: crypto.randomUUID() });
  } catch (err) {
    deps.logger.warn('could not enqueue memory learning', { session_id: sessionId, error: (err as Error).message });
  }
}

interface Batch {
  tenantId: string;
  sessionId: string;
  userId: string;
  agentId: string | null;
  /** The cursor as read: the statement that stores the batch moves it only from here. */
  after: number;
  /** Where the cursor moves: the last turn read, or the session's last sequence when the batch reached it. */
  through: number;
  last: number;
  turns: LearnTurn[];
}

export async function learnMemories(deps: Deps, job: LearnJob): Promise<JobResult> {
  if (!deps.env.CONTEXT_LEARN_MEMORIES) return { status: 'skipped', reason: 'memory learning is off' };
  let added = 0;
  let ended = 0;
  let read = 0;
  for (;;) {
    const batch = await readBatch(deps, job.tenant_id, job.session_id);
    if (!batch) return { status: 'skipped', reason: 'session no longer exists or has no user' };
    if (batch.through <= batch.after) break;
    const plan = await decide(deps, batch, await currentMemories(deps, batch));
    const stored = await storePlan(deps, batch, plan);
    // Another run stored this batch first (a redelivery, or a job racing it): it is learned once.
    if (!stored) break;
    added += stored.added;
    ended += stored.ended;
    read += batch.turns.length;
    if (batch.through >= batch.last) break;
    if (read >= defaults.learn.perJob) {
      await enqueueLearn(deps, job.tenant_id, job.session_id);
      break;
    }
  }
  if (read === 0) return { status: 'skipped', reason: 'no new turns to learn from' };
  return { status: 'learned', reason: 'new turns read', added, ended };
}

/** The session's owner, cursor and the next turns past it, in one round trip; undefined without a session or user. */
async function readBatch(deps: Deps, tenantId: string, sessionId: string): Promise<Batch | undefined> {
  const size = defaults.learn.batch;
  const [row] = await deps.store.query<{
    user_id: string | null;
    agent_id: string | null;
    last_sequence: number;
    learned_through: number;
    turns: LearnTurn[] | string;
  }>(sql`
    SELECT s.user_id, s.agent_id, s.last_sequence, s.learned_through,
      (SELECT coalesce(jsonb_agg(t ORDER BY t.sequence), '[]'::jsonb) FROM (
        SELECT sequence, role, name, content, created_at FROM turns
        WHERE tenant_id = s.tenant_id AND session_id = s.id AND sequence > s.learned_through
          AND sequence <= s.last_sequence AND role IN ('user', 'assistant')
        ORDER BY sequence LIMIT ${size}) t) AS turns
    FROM sessions s WHERE s.tenant_id = ${tenantId} AND s.id = ${sessionId}`);
  if (!row?.user_id) return undefined;
  const turns = json<LearnTurn[]>(row.turns).map((t) => ({
    ...t,
    sequence: int(t.sequence),
    created_at: new Date(t.created_at).toISOString(),
  }));
  const last = int(row.last_sequence);
  return {
    tenantId,
    sessionId,
    userId: row.user_id,
    agentId: row.agent_id,
    after: int(row.learned_through),
    through: turns.length === size ? turns[turns.length - 1]!.sequence : last,
    last,
    turns,
  };
}

/**
 * The user's current memories the session may see that a batch is compared with: the newest, those holding the
 * batch's words, and those holding a slot the batch's statements fill.
 */
async function currentMemories(deps: Deps, batch: Batch): Promise<CurrentMemory[]> {
  const cfg = defaults.learn;
  const said = batch.turns.filter((t) => t.role === 'user');
  if (said.length === 0) return [];
  const slots = [...new Set(extractStatements(said).flatMap((s) => (s.slot ? [s.slot] : [])))];
  const tsQuery = toTsQuery(said.map((t) => t.content).join(' ')) ?? '';
  const mine = sql`tenant_id = ${batch.tenantId} AND scope = 'user' AND user_id = ${batch.userId}
    AND (agent_id IS NULL OR agent_id = ${batch.agentId}) AND valid_to IS NULL`;
  const columns = sql`id, kind, content, origin, metadata ->> 'slot' AS slot, valid_from`;
  const rows = await deps.store.query<CurrentMemory>(sql`
    (SELECT ${columns} FROM memories WHERE ${mine} ORDER BY valid_from DESC LIMIT ${cfg.compareNewest})
    UNION
    (SELECT ${columns} FROM memories, to_tsquery('english', ${tsQuery}) AS q
     WHERE ${mine} AND ${tsQuery} <> '' AND tsv @@ q ORDER BY ts_rank_cd(tsv, q) DESC LIMIT ${cfg.compareMatching})
    UNION
    (SELECT ${columns} FROM memories
     WHERE ${mine} AND metadata ->> 'slot' = ANY(${pgTextArray(slots)}::text[]) LIMIT ${cfg.compareMatching})`);
  return rows
    .map((r) => ({ ...r, valid_from: new Date(r.valid_from).toISOString() }))
    .sort((a, b) => a.valid_from.localeCompare(b.valid_from) || a.id.localeCompare(b.id));
}

interface Decision {
  plan: LearnPlan;
  /** `extractive`, or the model that answered. */
  by: string;
}

/** The model's operations when an LLM is configured and answers valid ones; the extractive path otherwise. */
async function decide(deps: Deps, batch: Batch, current: CurrentMemory[]): Promise<Decision> {
  const userTurns = batch.turns.filter((t) => t.role === 'user');
  const llm = deps.llm;
  if (llm?.memoryOperations && userTurns.length > 0) {
    const refs = current.map((m, i) => ({ ref: `m${i + 1}`, memory: m }));
    const prompt: MemoryPrompt = {
      memories: refs.map((r) => ({
        ref: r.ref,
        kind: r.memory.kind,
        date: r.memory.valid_from.slice(0, 10),
        text: r.memory.content,
      })),
      turns: batch.turns.map((t) => ({
        sequence: t.sequence,
        role: t.role,
        speaker: t.name ?? t.role,
        date: t.created_at.slice(0, 10),
        text: t.content.slice(0, PROMPT_TURN_CHARS),
      })),
    };
    try {
      const checked = checkOperations(await llm.memoryOperations(prompt), batch, refs);
      if (checked.plan) return { plan: checked.plan, by: llm.model };
      // Only the shape of the problem is logged: the answer may quote the conversation.
      deps.logger.warn('model memory operations invalid; learning extractively', {
        session_id: batch.sessionId,
        problem: checked.problem,
      });
    } catch (err) {
      const e = err as { status?: unknown; constructor?: { name?: string } };
      deps.logger.warn('model memory operations failed; learning extractively', {
        session_id: batch.sessionId,
        error_class: e.constructor?.name,
        status: typeof e.status === 'number' ? e.status : undefined,
      });
    }
  }
  return { plan: planStatements(extractStatements(batch.turns), current, () => crypto.randomUUID()), by: 'extractive' };
}

/** Characters of one turn shown to the model: a long turn recounts; its opening states what it is about. */
const PROMPT_TURN_CHARS = 2_000;

const Operation = z.object({
  event: z.enum(['ADD', 'UPDATE', 'DELETE', 'NONE']),
  ref: z.string().max(32).nullable(),
  kind: z.enum(['fact', 'preference', 'constraint', 'task']),
  text: z.string().max(2_000),
  source_turns: z.array(z.number().int()).max(200),
});
const Operations = z.object({ operations: z.array(Operation).max(200) });

/**
 * The plan a model answer stands for, or the problem with it: the shape, a ref it was not shown, a turn not in the
 * batch, an empty text. A memory a caller wrote is never ended: an UPDATE of one adds the new memory beside it.
 */
export function checkOperations(
  answer: unknown,
  batch: Pick<Batch, 'turns'>,
  refs: readonly { ref: string; memory: CurrentMemory }[],
): { plan?: LearnPlan; problem?: string } {
  const parsed = Operations.safeParse(answer);
  if (!parsed.success) return { problem: `shape (${parsed.error.issues.length} issues)` };
  const byRef = new Map(refs.map((r) => [r.ref, r.memory]));
  const turnAt = new Map(batch.turns.map((t) => [t.sequence, t]));
  const inserts: NewMemory[] = [];
  const ends: EndedMemory[] = [];
  const endedIds = new Set<string>();
  const seen = new Set([...refs.map((r) => normalized(r.memory.content))]);
  for (const op of parsed.data.operations) {
    if (op.event === 'NONE') continue;
    const target = op.ref === null ? undefined : byRef.get(op.ref);
    if (op.event !== 'ADD' && !target) return { problem: `${op.event} of a memory it was not shown` };
    const sequences = [...new Set(op.source_turns)].sort((a, b) => a - b);
    if (sequences.length === 0 || sequences.some((s) => !turnAt.has(s)))
      return { problem: `${op.event} cites turns outside the batch` };
    const at = turnAt.get(sequences[sequences.length - 1]!)!.created_at;
    const content = op.text.replace(/\s+/g, ' ').trim();
    if (op.event === 'DELETE') {
      if (target!.origin === 'learned' && !endedIds.has(target!.id)) {
        endedIds.add(target!.id);
        ends.push({ id: target!.id, supersededBy: null, at });
      }
      continue;
    }
    if (content.length < 3) return { problem: `${op.event} without a text` };
    if (seen.has(normalized(content))) continue;
    seen.add(normalized(content));
    const memory: NewMemory = { id: crypto.randomUUID(), kind: op.kind, content, sequences, validFrom: at };
    inserts.push(memory);
    if (op.event === 'UPDATE' && target!.origin === 'learned' && !endedIds.has(target!.id)) {
      endedIds.add(target!.id);
      ends.push({ id: target!.id, supersededBy: memory.id, at });
    }
  }
  return { plan: { inserts, ends } };
}

const normalized = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

/**
 * Stores a batch's plan and moves the session's cursor in one statement (ADR 0001), only from where the batch read
 * it: a second run of the same batch moves nothing and so stores nothing. Memories ended here keep their row, with
 * `valid_to`, the memory that replaced them and this session.
 */
async function storePlan(
  deps: Deps,
  batch: Batch,
  decision: Decision,
): Promise<{ added: number; ended: number } | undefined> {
  const { plan, by } = decision;
  const cfg = defaults.learn;
  const inserts = plan.inserts.map((m) => ({
    id: m.id,
    kind: m.kind,
    content: m.content,
    sequences: m.sequences,
    valid_from: m.validFrom,
    valid_to: m.validTo ?? null,
    superseded_by: m.supersededBy ?? null,
    token_count: deps.tokenizer.count(m.content),
    importance: cfg.importance[m.kind] ?? 0.5,
    metadata:
      by === 'extractive'
        ? { learned_by: by, ...(m.slot ? { slot: m.slot } : {}) }
        : { learned_by: 'model', model: by },
  }));
  const ends = plan.ends.map((e) => ({ id: e.id, superseded_by: e.supersededBy, at: e.at }));
  const t = batch.tenantId;
  const s = batch.sessionId;
  const [row] = await deps.store.query<{ moved: number; added: number; ended: number }>(sql`
    WITH cur AS (
      UPDATE sessions SET learned_through = ${batch.through}
      WHERE tenant_id = ${t} AND id = ${s} AND learned_through = ${batch.after} AND user_id = ${batch.userId}
      RETURNING agent_id
    ),
    ins AS (
      INSERT INTO memories (id, tenant_id, scope, kind, content, user_id, agent_id, session_id, origin,
                            source_sequences, valid_from, valid_to, superseded_by, ended_in_session, token_count,
                            importance, metadata)
      SELECT r.id, ${t}, 'user', r.kind, r.content, ${batch.userId}, cur.agent_id, ${s}, 'learned', r.sequences,
             r.valid_from, r.valid_to, r.superseded_by, CASE WHEN r.valid_to IS NULL THEN NULL ELSE ${s}::text END,
             r.token_count, r.importance, r.metadata
      FROM cur, jsonb_to_recordset(${JSON.stringify(inserts)}::jsonb) AS r(
        id uuid, kind text, content text, sequences int[], valid_from timestamptz, valid_to timestamptz,
        superseded_by uuid, token_count int, importance real, metadata jsonb)
      RETURNING 1
    ),
    ended AS (
      UPDATE memories m SET valid_to = greatest(m.valid_from, e.at), superseded_by = e.superseded_by,
                            ended_in_session = ${s}, updated_at = now()
      FROM cur, jsonb_to_recordset(${JSON.stringify(ends)}::jsonb) AS e(id uuid, superseded_by uuid, at timestamptz)
      WHERE m.tenant_id = ${t} AND m.id = e.id AND m.scope = 'user' AND m.user_id = ${batch.userId}
        AND m.origin = 'learned' AND m.valid_to IS NULL
      RETURNING 1
    ),
    -- Contexts cached for the user's sessions are keyed by their history's version: every history of the user,
    -- as a memory ended here may be one without an agent, which every agent's sessions recall.
    bump AS (
      UPDATE user_histories h SET version = h.version + 1
      WHERE h.tenant_id = ${t} AND h.user_id = ${batch.userId} AND EXISTS (SELECT 1 FROM cur)
        AND (EXISTS (SELECT 1 FROM ins) OR EXISTS (SELECT 1 FROM ended))
    )
    SELECT (SELECT count(*)::int FROM cur) AS moved, (SELECT count(*)::int FROM ins) AS added,
           (SELECT count(*)::int FROM ended) AS ended`);
  if (!row || int(row.moved) === 0) return undefined;
  return { added: int(row.added), ended: int(row.ended) };
}
