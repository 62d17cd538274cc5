// Traces (ADR 0007): what each QueryContext did, under a request id the service makes, with the agent's steps appended;
// bounded by CONTEXT_MAX_TRACE_STEPS and truncated previews, swept after the retention.
import { sql } from 'drizzle-orm';
import { bool, int, json } from '../db/decode.js';
import { ApiError, notFound } from '../errors.js';
import type { Ctx, Deps } from '../ports.js';
import type { BudgetReport, QueryContextBody, QueryContextResponse } from '../schemas/context.js';
import type { TraceStep, TraceStepsBody } from '../schemas/flows.js';

type StoredStep = Omit<TraceStep, 'seq'>;

const DATA_MAX_BYTES = 4096;
const DROPPED_LISTED = 20;

/** Marks stage ends; each stage's time is from the previous mark. */
export function stageTimer() {
  let last = performance.now();
  const out: { stage: string; ms: number }[] = [];
  return {
    startedAt: Date.now(),
    mark: (stage: string) => {
      const now = performance.now();
      out.push({ stage, ms: Math.round((now - last) * 1000) / 1000 });
      last = now;
    },
    stages: () => out,
  };
}

function preview(text: string | undefined | null, chars: number) {
  if (text === undefined || text === null) return { preview: null, truncated: false };
  return text.length > chars ? { preview: text.slice(0, chars), truncated: true } : { preview: text, truncated: false };
}

/** Whether candidates were left out for lack of room (a duplicate is shown elsewhere, so it does not count). */
export function overflowed(report: BudgetReport): boolean {
  const listed = report.dropped.length;
  const total = report.sections.reduce((s, x) => s + x.dropped, 0);
  const duplicates = report.dropped.filter((d) => d.reason === 'duplicate').length;
  return total - duplicates > 0 || total > listed;
}

/** The budget-report section of an envelope history item. */
const sectionOf = (source: string) =>
  source === 'recent' ? 'recent_turns' : source === 'past_session' ? 'past_sessions' : 'relevant_history';

function serviceSteps(
  ctx: Ctx,
  body: QueryContextBody,
  response: QueryContextResponse,
  stages: { stage: string; ms: number }[],
  flowId: string | null,
): StoredStep[] {
  const report = response.envelope.budget_report;
  const at = new Date().toISOString();
  const candidates = Object.fromEntries(report.sections.map((s) => [s.section, s.kept + s.dropped]));
  const scores = [
    ...response.envelope.relevant_history.map((h) => ({ id: h.id, section: sectionOf(h.source), score: h.score })),
    ...response.envelope.retrieved_memory.map((m) => ({ id: m.id, section: 'retrieved_memory', score: m.score })),
  ]
    .sort((a, b) => b.score - a.score)
    .slice(0, 10);
  const dataFor = (stage: string): Record<string, unknown> | null => {
    switch (stage) {
      case 'resolve':
        return {
          model_call_id: response.model_call_id ?? null,
          flow_id: flowId,
          strategy: response.strategy,
          variant: response.variant,
          budget_tokens: body.budget_tokens,
          reserve_tokens: body.reserve_tokens,
          template: body.template,
          // The caller's own X-Request-Id, for correlation only: the trace's key is the request id the service made.
          ...(ctx.clientRequestId ? { client_request_id: ctx.clientRequestId } : {}),
        };
      case 'cache':
        return { hit: response.cached, session_version: response.session_version };
      case 'retrieve':
        return { candidates };
      case 'rank':
        return { top_scores: scores };
      case 'plan':
        return { sections: report.sections.map(({ section, allotted, used }) => ({ section, allotted, used })) };
      case 'assemble':
        return {
          token_count: response.token_count,
          kept: report.sections.reduce((s, x) => s + x.kept, 0),
          dropped: report.dropped
            .slice(0, DROPPED_LISTED)
            .map(({ id, section, reason, score }) => ({ id, section, reason, score })),
        };
      default:
        return null;
    }
  };
  const steps: StoredStep[] = stages.map(({ stage, ms }) => ({
    actor: 'service',
    type: stage,
    name: null,
    ...preview(stage === 'assemble' ? response.rendered.text : null, ctx.env.CONTEXT_TRACE_PREVIEW_CHARS),
    status: 'ok',
    duration_ms: ms,
    data: dataFor(stage),
    at,
  }));
  if (response.cached) {
    // Served from the cache: the plan and decisions are those recorded when it was assembled.
    for (const stage of ['retrieve', 'rank', 'plan', 'assemble'])
      steps.push({
        actor: 'service',
        type: stage,
        name: 'precomputed',
        ...preview(stage === 'assemble' ? response.rendered.text : null, ctx.env.CONTEXT_TRACE_PREVIEW_CHARS),
        status: 'ok',
        duration_ms: null,
        data: dataFor(stage),
        at,
      });
  }
  return steps.slice(0, ctx.env.CONTEXT_MAX_TRACE_STEPS);
}

interface PendingTrace {
  tenantId: string;
  requestId: string;
  sessionId: string;
  modelCallId: string | null;
  strategy: string;
  variant: string;
  source: string;
  tokenCount: number;
  overflow: boolean;
  steps: string;
}

/**
 * Traces written together: a query leaves its trace here and answers at once, and the rows go to the store in one
 * statement when enough are waiting or shortly after (the Node runtime, where one process serves every request of
 * its store). Anything that reads traces writes the waiting ones first, so a trace is never missing from a read.
 */
export interface TraceBatch {
  add(trace: PendingTrace): void;
  /** Writes what is waiting; resolves once it is stored (or its failure logged). */
  flush(): Promise<void>;
}

const BATCH_ROWS = 64;
const BATCH_DELAY_MS = 200;

export function traceBatch(deps: Pick<Deps, 'store' | 'logger'>): TraceBatch {
  let pending: PendingTrace[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const rows = pending;
    pending = [];
    // One write at a time, in order: a flush resolves after every row added before it is written.
    writing = writing.then(() => (rows.length ? insertTraces(deps, rows) : undefined));
    return writing;
  };
  return {
    add(trace) {
      pending.push(trace);
      if (pending.length >= BATCH_ROWS) void flush();
      else if (!timer) {
        timer = setTimeout(() => void flush(), BATCH_DELAY_MS);
        timer.unref?.();
      }
    },
    flush,
  };
}

/**
 * Writes the traces whose session still exists (a deleted session's traces go with it); logs a failure. The commit
 * does not wait for the write-ahead log to reach the disk (`synchronous_commit` off for this statement only): the
 * rows are visible at once, and a crash of the database server within a fraction of a second may lose them, which
 * traces can afford and a disk flush per batch on a busy server is not worth.
 */
async function insertTraces(deps: Pick<Deps, 'store' | 'logger'>, rows: PendingTrace[]): Promise<void> {
  try {
    await deps.store.query(sql`
      WITH unflushed AS (SELECT set_config('synchronous_commit', 'off', true))
      INSERT INTO traces (tenant_id, request_id, session_id, agent_id, model_call_id, strategy, variant, source, token_count, overflow, steps)
      SELECT s.tenant_id, v.request_id, s.id, s.agent_id, v.model_call_id, v.strategy, v.variant, v.source, v.token_count, v.overflow, v.steps
      FROM (VALUES ${sql.join(
        rows.map(
          (
            r,
          ) => sql`(${r.tenantId}::text, ${r.sessionId}::text, ${r.requestId}::text, ${r.modelCallId}::text, ${r.strategy}::text,
          ${r.variant}::text, ${r.source}::text, ${r.tokenCount}::int, ${r.overflow}::boolean, ${r.steps}::jsonb)`,
        ),
        sql`, `,
      )}) AS v(tenant_id, session_id, request_id, model_call_id, strategy, variant, source, token_count, overflow, steps)
      JOIN sessions s ON s.tenant_id = v.tenant_id AND s.id = v.session_id
      CROSS JOIN unflushed
      ON CONFLICT (tenant_id, request_id) DO NOTHING`);
  } catch (err) {
    deps.logger.warn('traces not recorded', { count: rows.length, error: (err as Error).message });
  }
}

/** Writes traces still waiting in this process, before anything reads them. */
export async function flushTraces(deps: Deps): Promise<void> {
  await deps.traceBatch?.flush();
}

/** Best effort: a trace that cannot be written costs a log line, never the answer. */
export async function recordQueryTrace(
  ctx: Ctx,
  input: {
    sessionId: string;
    body: QueryContextBody;
    response: QueryContextResponse;
    stages: { stage: string; ms: number }[];
    flowId: string | null;
  },
): Promise<void> {
  const { response } = input;
  let trace: PendingTrace;
  try {
    trace = {
      tenantId: ctx.tenantId,
      requestId: ctx.requestId,
      sessionId: input.sessionId,
      modelCallId: response.model_call_id ?? null,
      strategy: response.strategy ?? 'request',
      variant: response.variant ?? 'default',
      source: response.source ?? 'live',
      tokenCount: response.token_count,
      overflow: overflowed(response.envelope.budget_report),
      steps: JSON.stringify(serviceSteps(ctx, input.body, response, input.stages, input.flowId)),
    };
  } catch (err) {
    ctx.logger.warn('trace not recorded', { error: (err as Error).message });
    return;
  }
  if (ctx.traceBatch) ctx.traceBatch.add(trace);
  else await insertTraces(ctx, [trace]);
}

export async function appendSteps(
  ctx: Ctx,
  requestId: string,
  body: TraceStepsBody,
): Promise<{ request_id: string; step_count: number }> {
  const at = new Date().toISOString();
  const steps: StoredStep[] = body.steps.map((s, i) => {
    const data = s.data ?? null;
    if (data && new TextEncoder().encode(JSON.stringify(data)).length > DATA_MAX_BYTES)
      throw new ApiError('BAD_REQUEST', `steps.${i}.data: must be at most ${DATA_MAX_BYTES} bytes as JSON`);
    return {
      actor: 'agent',
      type: s.type,
      name: s.name ?? null,
      ...preview(s.content, ctx.env.CONTEXT_TRACE_PREVIEW_CHARS),
      status: s.status ?? null,
      duration_ms: s.duration_ms ?? null,
      data,
      at,
    };
  });
  const max = ctx.env.CONTEXT_MAX_TRACE_STEPS;
  await flushTraces(ctx);
  // One statement: the steps land whole and only while the trace stays within its bound.
  const [row] = await ctx.store.query<{ step_count: number }>(sql`
    UPDATE traces SET steps = steps || ${JSON.stringify(steps)}::jsonb
    WHERE tenant_id = ${ctx.tenantId} AND request_id = ${requestId} AND jsonb_array_length(steps) + ${steps.length} <= ${max}
    RETURNING jsonb_array_length(steps) AS step_count`);
  if (row) return { request_id: requestId, step_count: int(row.step_count) };
  const [existing] = await ctx.store.query<{ n: number }>(sql`
    SELECT jsonb_array_length(steps) AS n FROM traces WHERE tenant_id = ${ctx.tenantId} AND request_id = ${requestId}`);
  if (!existing) throw notFound(`trace "${requestId}"`);
  throw new ApiError(
    'CONFLICT',
    `trace "${requestId}" holds ${existing.n} steps; ${steps.length} more would pass max_trace_steps (${max})`,
    {
      max_trace_steps: max,
      step_count: int(existing.n),
    },
  );
}

export interface TraceRow {
  request_id: string;
  session_id: string;
  agent_id: string | null;
  model_call_id: string | null;
  strategy: string;
  variant: string;
  source: string;
  token_count: number;
  overflow: boolean;
  created_at: string;
  steps: TraceStep[];
}

export async function findTrace(deps: Deps, tenantId: string, requestId: string): Promise<TraceRow | undefined> {
  await flushTraces(deps);
  const [row] = await deps.store.query<Omit<TraceRow, 'steps'> & { steps: unknown }>(sql`
    SELECT request_id, session_id, agent_id, model_call_id, strategy, variant, source, token_count, overflow, created_at, steps
    FROM traces WHERE tenant_id = ${tenantId} AND request_id = ${requestId}`);
  if (!row) return undefined;
  const steps = json<StoredStep[]>(row.steps);
  return {
    ...row,
    token_count: int(row.token_count),
    overflow: bool(row.overflow),
    created_at: new Date(row.created_at).toISOString(),
    steps: steps.map((s, i) => ({ seq: i + 1, ...s })),
  };
}

export async function getTrace(ctx: Ctx, requestId: string): Promise<TraceRow> {
  const trace = await findTrace(ctx, ctx.tenantId, requestId);
  if (!trace) throw notFound(`trace "${requestId}"`);
  return trace;
}

/** Retention: deletes traces older than CONTEXT_TRACE_RETENTION_DAYS; returns how many. */
export async function sweepTraces(deps: Deps, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - deps.env.CONTEXT_TRACE_RETENTION_DAYS * 86_400_000).toISOString();
  await flushTraces(deps);
  const rows = await deps.store.query(sql`DELETE FROM traces WHERE created_at < ${cutoff}::timestamptz RETURNING 1`);
  return rows.length;
}
