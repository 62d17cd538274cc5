// Precompute job: after a session changes, assembles its default context and its agent's model calls' contexts in the
// background, each cached under the session version it read, so a later write makes it unreachable, never stale.
import { sql } from 'drizzle-orm';
import { defaults } from '../config/tuning.js';
import { bool } from '../db/decode.js';
import { ApiError } from '../errors.js';
import { yieldToEventLoop } from '../event-loop.js';
import type { JobResult } from '../jobs/schema.js';
import type { Ctx, Deps, PrecomputeJob } from '../ports.js';
import { QueryContextBody } from '../schemas/context.js';
import { prepareSearch } from '../pipeline/retriever/index.js';
import { prepareTurnLines } from '../pipeline/items.js';
import { prepareFindings } from '../pipeline/tool-findings.js';
import { compressSession } from './compaction.js';
import { publishEvent } from './events/publish.js';
import { queryContext } from './query-context.js';
import { findSession, type SessionRow } from './sessions.js';
import { agentPlan, bodyForCall, variantFor } from './task-flows.js';

interface PrecomputedCall {
  flowId: string;
  agentId: string;
  callId: string;
  tokenCount: number;
  cached: boolean;
  version: number;
}

/**
 * The model calls one job assembles: in plan order, each that still fits `defaults.precompute` (a count and a sum of
 * budgets); the others are assembled live when asked for.
 */
function callsToPrecompute<C extends { call: { budget_tokens: number } }>(calls: readonly C[]): C[] {
  const { maxModelCalls, maxBudgetTokens } = defaults.precompute;
  const taken: C[] = [];
  let budget = 0;
  for (const c of calls) {
    if (taken.length >= maxModelCalls) break;
    if (budget + c.call.budget_tokens > maxBudgetTokens) continue;
    taken.push(c);
    budget += c.call.budget_tokens;
  }
  return taken;
}

/**
 * The model calls of the session's agent flows that fit one job, under the session's strategy variant, one after
 * another; the event loop gets a turn before each, so requests are answered while a job runs.
 */
async function precomputeModelCalls(ctx: Ctx, sessionId: string): Promise<PrecomputedCall[]> {
  const plan = await agentPlan(ctx, ctx.tenantId, sessionId);
  if (!plan || !plan.agentId || plan.calls.length === 0) return [];
  const variant = await variantFor(plan.config, sessionId);
  const taken = callsToPrecompute(plan.calls);
  if (taken.length < plan.calls.length) {
    const live = plan.calls.length - taken.length;
    ctx.logger.info('precompute bounded; the other model calls are assembled live', { taken: taken.length, live });
  }
  const out: PrecomputedCall[] = [];
  for (const { flowId, call } of taken) {
    await yieldToEventLoop();
    const answer = await queryContext(ctx, { sessionId, body: bodyForCall(call, variant) });
    out.push({
      flowId,
      agentId: plan.agentId,
      callId: call.id,
      tokenCount: answer.token_count,
      cached: answer.cached,
      version: answer.session_version,
    });
  }
  return out;
}

/** A domain event, and a webhook job when the agent has a webhook; neither fails the precompute. */
async function announcePrecomputed(deps: Deps, job: PrecomputeJob, version: number, calls: PrecomputedCall[]) {
  // A write during the job moved the version on: its own job announces the newer contexts.
  if (calls.some((c) => c.version !== version)) return;
  const agentId = calls[0]!.agentId;
  await publishEvent(deps, {
    type: 'context.precomputed',
    tenant_id: job.tenant_id,
    session_id: job.session_id,
    agent_id: agentId,
    session_version: version,
    model_call_ids: calls.map((c) => c.callId),
  });
  const [hook] = await deps.store.query<{ has: boolean | string }>(sql`
    SELECT (config -> 'webhook' ->> 'url') IS NOT NULL AS has FROM agents WHERE tenant_id = ${job.tenant_id} AND id = ${agentId}`);
  if (!hook || !bool(hook.has)) return;
  try {
    await deps.queue.send({
      kind: 'webhook',
      tenant_id: job.tenant_id,
      session_id: job.session_id,
      job_id: `${job.job_id}:webhook`,
      agent_id: agentId,
      session_version: version,
      model_calls: calls.map((c) => ({ flow_id: c.flowId, model_call_id: c.callId, token_count: c.tokenCount })),
    });
  } catch (err) {
    deps.logger.warn('could not enqueue webhook', { session_id: job.session_id, error: (err as Error).message });
  }
}

/** The request a client sends when it just wants "the context": what the job assembles ahead of time. */
export const defaultQueryBody = (): QueryContextBody =>
  QueryContextBody.parse({ budget_tokens: defaults.precomputeBudgetTokens });

export async function precomputeContext(deps: Deps, job: PrecomputeJob): Promise<JobResult> {
  const session = await findSession(deps, job.tenant_id, job.session_id);
  if (!session) return { status: 'skipped', reason: 'session no longer exists' };
  if (session.version > job.session_version)
    return { status: 'skipped', reason: 'session changed since this job was queued; a newer job covers it' };

  // Compress first: the context a client gets next should already carry the folded summary, and compressing
  // afterwards would move the version past the entry just cached.
  const maxTokens = session.max_tokens ?? defaults.windowMaxTokens;
  if (session.window_version !== null && session.total_tokens - (session.summarized_tokens ?? 0) > maxTokens)
    await compressSession(deps, job.tenant_id, job.session_id, 'threshold');

  const ctx: Ctx = {
    ...deps,
    tenantId: job.tenant_id,
    requestId: `precompute:${job.job_id}`,
    logger: deps.logger.child({ job_id: job.job_id, tenant_id: job.tenant_id, session_id: job.session_id }),
    // Cache and prompt metrics describe what callers were served; a warm-up is not a caller.
    metrics: undefined,
  };
  let answer;
  let calls: PrecomputedCall[];
  try {
    await yieldToEventLoop();
    answer = await queryContext(ctx, { sessionId: job.session_id, body: defaultQueryBody() });
    calls = await precomputeModelCalls(ctx, job.session_id);
    if (deps.jobsBesideQueries) await prepareQueries(ctx, session);
  } catch (err) {
    // Deleted between the check above and the query: nothing left to warm, and retrying cannot change that.
    if (err instanceof ApiError && err.code === 'NOT_FOUND')
      return { status: 'skipped', reason: 'session no longer exists' };
    throw err;
  }
  if (calls.length > 0) await announcePrecomputed(deps, job, answer.session_version, calls);
  const fresh = answer.cached ? calls.filter((c) => !c.cached).length : 1;
  return {
    status: 'precomputed',
    reason: fresh === 0 ? 'already cached' : 'cached',
    session_version: answer.session_version,
    ...(calls.length ? { model_calls: calls.length } : {}),
  };
}

/**
 * Readies this process's search structures of the session for its next query (see prepareSearch). Optional: a
 * failure is logged, and that query builds them.
 */
async function prepareQueries(ctx: Ctx, session: SessionRow): Promise<void> {
  try {
    await yieldToEventLoop();
    const sources = await prepareSearch(ctx, session);
    if (!sources) return;
    const { own, searched } = sources;
    // What held rows show: the lines of the turns relevant history is ranked from (the session's own, or its user's
    // history), the session's recent turns, and its tool results' findings.
    for (const source of new Set([searched, own])) {
      const turns = source.heldTurns?.();
      if (turns) await prepareTurnLines(ctx.tokenizer, turns);
    }
    if (own.heldTurns)
      await prepareFindings(own, ctx.tokenizer, ctx.env.CONTEXT_TOOL_FIELDS, defaults.toolFindings.prepared);
  } catch (err) {
    ctx.logger.warn('could not prepare the session for queries', { error: (err as Error).message });
  }
}

/** Queues a precompute; a lost one only costs the next default query a cache miss, so failure is logged, not thrown. */
export async function enqueuePrecompute(
  deps: Deps,
  tenantId: string,
  sessionId: string,
  sessionVersion: number,
): Promise<boolean> {
  try {
    await deps.queue.send({
      kind: 'precompute',
      tenant_id: tenantId,
      session_id: sessionId,
      session_version: sessionVersion,
      job_id: crypto.randomUUID(),
    });
    return true;
  } catch (err) {
    deps.logger.warn('could not enqueue precompute', { session_id: sessionId, error: (err as Error).message });
    return false;
  }
}
