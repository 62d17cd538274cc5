// Online evaluation (ADR 0007): agents score a context by its request id, attributed to the strategy and variant in
// that context's trace. A low score is an alert (log line and metric), never a refusal.
import { sql } from 'drizzle-orm';
import { int, numOrNull } from '../db/decode.js';
import type { Ctx, Deps } from '../ports.js';
import type { EvaluationBody, StrategyReport, VariantReport } from '../schemas/flows.js';
import { flushTraces, getTrace } from './traces.js';

export async function recordEvaluation(ctx: Ctx, body: EvaluationBody) {
  const trace = await getTrace(ctx, body.request_id);
  const id = crypto.randomUUID();
  await ctx.store.query(sql`
    INSERT INTO evaluations (id, tenant_id, request_id, session_id, agent_id, strategy, variant, overall_score, task_success,
                             validation_blocked, tool_errors, token_count, overflow)
    VALUES (${id}, ${ctx.tenantId}, ${body.request_id}, ${trace.session_id}, ${trace.agent_id}, ${trace.strategy}, ${trace.variant},
            ${body.overall_score}, ${body.task_success ?? null}, ${body.validation_blocked ?? null}, ${body.tool_errors},
            ${trace.token_count}, ${trace.overflow})`);
  const low = body.overall_score < ctx.env.CONTEXT_LOW_SCORE_THRESHOLD;
  ctx.metrics?.evaluated(body.overall_score, low, body.task_success, body.tool_errors > 0);
  if (low)
    ctx.logger.warn('low evaluation score', {
      alert: 'low_score',
      request_id: body.request_id,
      session_id: trace.session_id,
      strategy: trace.strategy,
      variant: trace.variant,
      overall_score: body.overall_score,
      threshold: ctx.env.CONTEXT_LOW_SCORE_THRESHOLD,
    });
  return {
    id,
    request_id: body.request_id,
    session_id: trace.session_id,
    strategy: trace.strategy,
    variant: trace.variant,
    low_score: low,
  };
}

/** Variants side by side: scores, success, tokens and overflow, optionally for one agent and from a time on. */
export async function strategyReport(
  deps: Deps,
  tenantId: string,
  opts: { agentId?: string; since?: string } = {},
): Promise<StrategyReport> {
  await flushTraces(deps);
  const agent = opts.agentId ?? null;
  const since = opts.since ?? null;
  const threshold = deps.env.CONTEXT_LOW_SCORE_THRESHOLD;
  const evals = await deps.store.query<Record<string, unknown>>(sql`
    SELECT strategy, variant, count(*)::int AS n, avg(overall_score) AS mean,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY overall_score) AS p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY overall_score) AS p95,
           avg(CASE WHEN overall_score < ${threshold} THEN 1.0 ELSE 0.0 END) AS low_rate,
           avg(CASE WHEN task_success THEN 1.0 WHEN task_success IS NULL THEN NULL ELSE 0.0 END) AS success_rate,
           avg(CASE WHEN tool_errors > 0 THEN 1.0 ELSE 0.0 END) AS tool_error_rate,
           avg(CASE WHEN validation_blocked THEN 1.0 WHEN validation_blocked IS NULL THEN NULL ELSE 0.0 END) AS blocked_rate
    FROM evaluations
    WHERE tenant_id = ${tenantId} AND (${agent}::text IS NULL OR agent_id = ${agent}::text)
      AND (${since}::timestamptz IS NULL OR created_at >= ${since}::timestamptz)
    GROUP BY strategy, variant`);
  const served = await deps.store.query<Record<string, unknown>>(sql`
    SELECT strategy, variant, count(*)::int AS n, avg(token_count) AS tokens,
           avg(CASE WHEN overflow THEN 1.0 ELSE 0.0 END) AS overflow_rate,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY jsonb_array_length(steps)) AS steps_p95
    FROM traces
    WHERE tenant_id = ${tenantId} AND (${agent}::text IS NULL OR agent_id = ${agent}::text)
      AND (${since}::timestamptz IS NULL OR created_at >= ${since}::timestamptz)
    GROUP BY strategy, variant`);
  const key = (r: Record<string, unknown>) => `${r.strategy}\u0000${r.variant}`;
  const byKey = new Map<string, VariantReport>();
  const entry = (r: Record<string, unknown>) => {
    let v = byKey.get(key(r));
    if (!v) {
      v = {
        strategy: String(r.strategy),
        variant: String(r.variant),
        contexts: 0,
        evaluations: 0,
        evaluation_overall_score_mean: null,
        evaluation_overall_score_p50: null,
        evaluation_overall_score_p95: null,
        low_score_rate: null,
        task_success_rate: null,
        tool_error_rate: null,
        validation_blocked_rate: null,
        mean_tokens: null,
        overflow_rate: null,
        trace_step_count_p95: null,
      };
      byKey.set(key(r), v);
    }
    return v;
  };
  for (const r of served) {
    const v = entry(r);
    v.contexts = int(r.n);
    v.mean_tokens = numOrNull(r.tokens);
    v.overflow_rate = numOrNull(r.overflow_rate);
    v.trace_step_count_p95 = numOrNull(r.steps_p95);
  }
  for (const r of evals) {
    const v = entry(r);
    v.evaluations = int(r.n);
    v.evaluation_overall_score_mean = numOrNull(r.mean);
    v.evaluation_overall_score_p50 = numOrNull(r.p50);
    v.evaluation_overall_score_p95 = numOrNull(r.p95);
    v.low_score_rate = numOrNull(r.low_rate);
    v.task_success_rate = numOrNull(r.success_rate);
    v.tool_error_rate = numOrNull(r.tool_error_rate);
    v.validation_blocked_rate = numOrNull(r.blocked_rate);
  }
  const variants = [...byKey.values()].sort(
    (a, b) => a.strategy.localeCompare(b.strategy) || a.variant.localeCompare(b.variant),
  );
  return { agent_id: agent, low_score_threshold: threshold, variants };
}
