// Precompute job: after a session changes, assemble its default context in the background so the next default
// query is served from the cache. The answer is cached under the session version it was assembled at, like any
// query, so a write that lands meanwhile only makes this entry unreachable; it can never be served stale.
import { defaults } from '../config.js';
import { ApiError } from '../errors.js';
import type { Ctx, Deps, PrecomputeJob } from '../ports.js';
import { QueryContextBody } from '../schemas/context.js';
import { compressSession, type JobResult } from './compaction.js';
import { queryContext } from './query-context.js';
import { findSession } from './sessions.js';

/** The request a client sends when it just wants "the context": what the job assembles ahead of time. */
export const defaultQueryBody = (): QueryContextBody => QueryContextBody.parse({ budget_tokens: defaults.precomputeBudgetTokens });

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
  try {
    answer = await queryContext(ctx, { sessionId: job.session_id, body: defaultQueryBody() });
  } catch (err) {
    // Deleted between the check above and the query: nothing left to warm, and retrying cannot change that.
    if (err instanceof ApiError && err.code === 'NOT_FOUND') return { status: 'skipped', reason: 'session no longer exists' };
    throw err;
  }
  return { status: 'precomputed', reason: answer.cached ? 'already cached' : 'cached', session_version: answer.session_version };
}

/** Queues a precompute; a lost one only costs the next default query a cache miss, so failure is logged, not thrown. */
export async function enqueuePrecompute(deps: Deps, tenantId: string, sessionId: string, sessionVersion: number): Promise<boolean> {
  try {
    await deps.queue.send({ kind: 'precompute', tenant_id: tenantId, session_id: sessionId, session_version: sessionVersion, job_id: crypto.randomUUID() });
    return true;
  } catch (err) {
    deps.logger.warn('could not enqueue precompute', { session_id: sessionId, error: (err as Error).message });
    return false;
  }
}
