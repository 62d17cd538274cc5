// Cross-session recovery: a new session of the same user and agent starts from an earlier one; the carry-over becomes
// the new window's starting summary, each line labelled with its session, within the summary budget.
import { sql } from 'drizzle-orm';
import { defaults } from '../config/tuning.js';
import { num } from '../db/decode.js';
import { ApiError, notFound } from '../errors.js';
import { compress } from '../pipeline/compressor/index.js';
import { escapeFence } from '../pipeline/fence.js';
import type { Ctx } from '../ports.js';
import type { WriteTurnsBody } from '../schemas/turns.js';
import { findSession, type SessionRow } from './sessions.js';

export interface CarryOver {
  from: string;
  text: string;
  tokens: number;
}

/** Turns of the earlier session summarised for the carry-over (the newest ones; older ones are in its summary). */
const TAIL_TURNS = 40;
const MEMORIES = 5;

/**
 * The carry-over for a session created by this write: from `resume_from` (a session id or `latest`), or from the
 * agent's `resume: latest` policy. Undefined when nothing applies; throws when an explicit source is not allowed.
 */
export async function carryOverFor(
  ctx: Ctx,
  sessionId: string,
  body: WriteTurnsBody,
  existing: SessionRow | undefined,
): Promise<CarryOver | undefined> {
  if (existing) {
    if (
      body.resume_from !== undefined &&
      existing.metadata.resumed_from !== body.resume_from &&
      body.resume_from !== 'latest'
    )
      throw new ApiError(
        'CONFLICT',
        `session "${sessionId}" already exists; resume_from only applies to its first write`,
      );
    return undefined;
  }
  let wanted = body.resume_from;
  if (wanted === undefined && body.agent_id && body.user_id) {
    const plan = await agentPlanFor(ctx, body.agent_id);
    if (plan === 'latest') wanted = 'latest';
  }
  if (wanted === undefined) return undefined;
  if (!body.agent_id || !body.user_id)
    throw new ApiError(
      'BAD_REQUEST',
      'resume_from: needs agent_id and user_id beside turns, so the earlier session can be matched',
    );
  if (wanted === sessionId) throw new ApiError('BAD_REQUEST', 'resume_from: a session cannot resume from itself');

  let source: SessionRow | undefined;
  if (wanted === 'latest') {
    const [row] = await ctx.store.query<{ id: string }>(sql`
      SELECT id FROM sessions
      WHERE tenant_id = ${ctx.tenantId} AND user_id = ${body.user_id} AND agent_id = ${body.agent_id} AND id <> ${sessionId}
      ORDER BY updated_at DESC, id DESC LIMIT 1`);
    if (!row) return undefined;
    source = await findSession(ctx, ctx.tenantId, row.id);
  } else {
    source = await findSession(ctx, ctx.tenantId, wanted);
    if (!source) throw notFound(`session "${wanted}" (resume_from)`);
    if (source.user_id !== body.user_id || source.agent_id !== body.agent_id)
      throw new ApiError('CONFLICT', `resume_from: session "${wanted}" belongs to another user or agent`);
  }
  if (!source) return undefined;
  return buildCarryOver(ctx, source);
}

async function agentPlanFor(ctx: Ctx, agentId: string) {
  const [row] = await ctx.store.query<{ resume: string | null }>(sql`
    SELECT config ->> 'resume' AS resume FROM agents WHERE tenant_id = ${ctx.tenantId} AND id = ${agentId}`);
  return row?.resume ?? undefined;
}

async function buildCarryOver(ctx: Ctx, source: SessionRow): Promise<CarryOver> {
  const t = ctx.tenantId;
  const [system, tail, memories] = await Promise.all([
    ctx.store.query<{ content: string }>(sql`
      SELECT content FROM turns WHERE tenant_id = ${t} AND session_id = ${source.id} AND role = 'system' ORDER BY sequence LIMIT 10`),
    ctx.store.query<{ role: string; name: string | null; content: string; importance: number }>(sql`
      SELECT role, name, content, importance FROM turns
      WHERE tenant_id = ${t} AND session_id = ${source.id} AND role IN ('user', 'assistant') AND sequence > ${source.summarized_through ?? 0}
      ORDER BY sequence DESC LIMIT ${TAIL_TURNS}`),
    ctx.store.query<{ kind: string; content: string }>(sql`
      SELECT kind, content FROM memories WHERE tenant_id = ${t} AND session_id = ${source.id} AND valid_to IS NULL
      ORDER BY (kind IN ('constraint', 'task')) DESC, importance DESC, updated_at DESC LIMIT ${MEMORIES * 2}`),
  ]);
  const label = (what: string) => `[from session ${source.id}: ${what}]`;
  const constraints = [
    ...system.map((r) => r.content),
    ...memories.filter((m) => m.kind === 'constraint').map((m) => m.content),
  ];
  const tasks = [
    ...(typeof source.metadata.task === 'string' ? [source.metadata.task] : []),
    ...memories.filter((m) => m.kind === 'task').map((m) => m.content),
  ];
  const facts = memories.filter((m) => m.kind !== 'constraint' && m.kind !== 'task').slice(0, MEMORIES);
  const summary = await compress(
    'summarize',
    {
      previousSummary: source.summary ?? '',
      turns: tail.reverse().map((r) => ({ speaker: r.name ?? r.role, text: r.content, importance: num(r.importance) })),
    },
    Math.floor(defaults.summaryMaxTokens / 2),
    ctx,
  );
  // Most binding first, so what the budget cuts is background. Each carried text is one line after its label, so no
  // text can forge a label of its own; fence markers are escaped here and again when the summary is rendered.
  const line = (what: string, text: string) => `${label(what)} ${escapeFence(text, true)}`;
  const lines = [
    ...constraints.map((c) => line('constraint', c)),
    ...tasks.map((c) => line('open task', c)),
    ...(summary.text ? [line('summary', summary.text)] : []),
    ...facts.map((m) => line(`memory, ${m.kind}`, m.content)),
  ];
  const tok = ctx.tokenizer;
  const kept: string[] = [];
  for (const line of lines) {
    const candidate = [...kept, line].join('\n');
    if (tok.count(candidate) <= defaults.summaryMaxTokens) kept.push(line);
    else if (kept.length === 0) kept.push(tok.truncate(line, defaults.summaryMaxTokens));
  }
  const text = kept.join('\n');
  return { from: source.id, text, tokens: tok.count(text) };
}
