// QueryContext: cache → retrieve → rank → sections → plan → render → envelope, cached per session version. The answer
// always fits the budget: the planner packs by counted tokens and the rendered text is counted again before it returns.
import { defaults, historyPool } from '../config/tuning.js';
import { keyPart } from '../cache-keys.js';
import { sha256Hex } from '../crypto.js';
import { ApiError, fromStorageError, notFound, type ErrorCode } from '../errors.js';
import { fitFrame, fitToBudget, sectionHeaderTokens, sharedFences, toEnvelope } from '../pipeline/assembler.js';
import { shrinkItem, type Payload } from '../pipeline/items.js';
import { plan, toolBackfillOrder, type Item } from '../pipeline/planner.js';
import { ownTurns, rankHistory, recalledHistory, retrieve, searchText } from '../pipeline/retriever/index.js';
import { toTsQuery } from '../pipeline/text.js';
import { declaredTask, reminderText, sectionCandidates, sectionSharesFor } from '../pipeline/sections.js';
import { gatherFindings, settle } from '../pipeline/tool-findings.js';
import type { Ctx } from '../ports.js';
import { QueryContextBody, type ContextRequest, type QueryContextResponse } from '../schemas/context.js';
import {
  historyCachePrefix,
  historyCacheVersion,
  requireSession,
  sessionCachePrefix,
  sessionCacheVersion,
  type SessionRow,
} from './sessions.js';
import { agentPlan, bodyForCall, findCall, variantFor } from './task-flows.js';
import { recordQueryTrace, stageTimer } from './traces.js';

export async function queryContext(
  ctx: Ctx,
  input: { sessionId: string; body: QueryContextBody },
): Promise<QueryContextResponse> {
  const { body } = input;
  // The query as searched, worked out once and only when needed: its lexemes ride on the session row's statement
  // when one is sent, and a cached answer of a remembered row needs neither.
  let searched: { text: string | undefined } | undefined;
  const searchedQuery = () => (searched ??= { text: body.query && searchText(ctx, body.query) }).text;
  const session = await requireSession(ctx, input.sessionId, {
    lexemesOf: () => {
      const text = searchedQuery();
      return text && toTsQuery(text) ? text : undefined;
    },
  });
  const cacheKey = await cacheKeyOf(ctx, session, body);
  const hit = await cacheGet<QueryContextResponse>(ctx, cacheKey);
  ctx.onStage?.('cache');
  if (hit) return { ...hit, request_id: ctx.requestId, cached: true };

  const found = await retrieve(ctx, session, body, searchedQuery());
  ctx.onStage?.('retrieve');
  const ranked = await rankHistory(ctx, found, body.budget_tokens);
  ctx.onStage?.('rank');

  const tok = ctx.tokenizer;
  const { structural } = found;
  const tools = await gatherFindings({
    sessionId: session.id,
    structural,
    ranked: ownTurns(ranked, session.id),
    budgetTokens: body.budget_tokens,
    source: found.source,
    tok,
    whitelist: ctx.env.CONTEXT_TOOL_FIELDS,
  });
  const candidates = sectionCandidates({
    session,
    query: body.query,
    budgetTokens: body.budget_tokens,
    structural,
    ranked,
    memories: found.memories,
    tools,
    past: found.past,
    tok,
  });

  const budget = body.budget_tokens - body.reserve_tokens;
  const { frame, frameTokens } = fitFrame(body.template, reminderText(session, body.query, tok), budget, tok);
  const p = plan({
    budget: body.budget_tokens,
    reserve: body.reserve_tokens,
    frameTokens,
    headerTokens: sectionHeaderTokens(body.template, tok),
    fences: sharedFences,
    shares: sectionSharesFor(candidates, tools, budget - frameTokens, body),
    ...(tools.active ? { backfill: toolBackfillOrder } : {}),
    candidates,
    pools: [historyPool],
    shrink: shrinkItem(tok),
  });
  settle(p, budget - p.report.used_tokens, tools, tok);
  ctx.onStage?.('plan');

  const { rendered, tokenCount } = fitToBudget(p, body.template, frame, budget, tok);
  const kept = p.kept as Item<Payload>[];
  const response: QueryContextResponse = {
    session_id: session.id,
    request_id: ctx.requestId,
    session_version: session.version,
    envelope: toEnvelope(kept, p.report, session, declaredTask(session) ?? structural.first),
    rendered,
    token_count: tokenCount,
    cached: false,
  };
  ctx.onStage?.('assemble');
  ctx.metrics?.contextAssembled(response, kept, (text) => tok.count(text));
  await cacheSet(ctx, cacheKey, response);
  return response;
}

/**
 * QueryContext as the route serves it: a model call's recipe (with the session's strategy variant) or the request
 * as sent; says whether the answer was prepared ahead; records the trace.
 */
/**
 * The context a write asked for with `return_context`: the turns are stored by then, so a failure is answered beside
 * them as the error QueryContext would give, never as a failed write (a retry would write the turns again).
 */
export async function contextAfterWrite(
  ctx: Ctx,
  sessionId: string,
  request: ContextRequest,
): Promise<{ context: QueryContextResponse } | { context_error: { code: ErrorCode; message: string } }> {
  try {
    return { context: await serveContext(ctx, sessionId, request) };
  } catch (err) {
    const known = err instanceof ApiError ? err : fromStorageError(err);
    if (known) return { context_error: { code: known.code, message: known.message } };
    ctx.logger.error('context after write failed', { request_id: ctx.requestId, error: err });
    return { context_error: { code: 'INTERNAL', message: 'internal error; the request id identifies it in the logs' } };
  }
}

export async function serveContext(
  ctx: Ctx,
  sessionId: string,
  request: ContextRequest,
): Promise<QueryContextResponse> {
  const timer = stageTimer();
  const traced: Ctx = { ...ctx, onStage: timer.mark };
  let body: QueryContextBody;
  let attribution: { strategy: string; variant: string; modelCallId: string | null; flowId: string | null };
  if (request.model_call_id !== undefined) {
    const plan = await agentPlan(ctx, ctx.tenantId, sessionId);
    if (!plan) throw notFound(`session "${sessionId}"`);
    const { flowId, call } = findCall(plan, request.model_call_id, request.flow_id);
    const variant = await variantFor(plan.config, sessionId);
    body = bodyForCall(call, variant, request.query);
    if (request.history_scope) body = { ...body, history_scope: request.history_scope };
    attribution = { strategy: variant.strategy, variant: variant.variant, modelCallId: call.id, flowId };
  } else {
    const { model_call_id: _m, flow_id: _f, ...rest } = request;
    body = QueryContextBody.parse(rest);
    attribution = { strategy: 'request', variant: 'default', modelCallId: null, flowId: null };
  }
  timer.mark('resolve');
  const answer = await queryContext(traced, { sessionId, body });
  const response: QueryContextResponse = {
    ...answer,
    source: answer.cached ? 'precomputed' : 'live',
    model_call_id: attribution.modelCallId,
    strategy: attribution.strategy,
    variant: attribution.variant,
  };
  await recordQueryTrace(ctx, { sessionId, body, response, stages: timer.stages(), flowId: attribution.flowId });
  ctx.tracing?.queryContext({
    startedAt: timer.startedAt,
    stages: timer.stages(),
    attributes: spanAttributes(ctx, body, response),
  });
  return response;
}

/** OpenTelemetry attributes of a QueryContext: the GenAI conventions where they fit, ids and counts, never content. */
function spanAttributes(ctx: Ctx, body: QueryContextBody, response: QueryContextResponse) {
  return {
    'gen_ai.operation.name': 'retrieval',
    'gen_ai.conversation.id': response.session_id,
    'context_engine.tenant_id': ctx.tenantId,
    'context_engine.request_id': response.request_id,
    'context_engine.session_version': response.session_version,
    'context_engine.budget_tokens': body.budget_tokens,
    'context_engine.reserve_tokens': body.reserve_tokens,
    'context_engine.token_count': response.token_count,
    'context_engine.source': response.source ?? 'live',
    'context_engine.strategy': response.strategy ?? 'request',
    'context_engine.variant': response.variant ?? 'default',
    ...(response.model_call_id ? { 'context_engine.model_call_id': response.model_call_id } : {}),
  };
}

/**
 * The versioned cache key (ADR 0002): a write to the session makes every key of its older versions unreachable. A
 * context that recalls the user's history is keyed by the history's version too (a write to, or the deletion of, any
 * of the user's sessions with the agent moves it), under the history's prefix, which a deletion drops.
 */
async function cacheKeyOf(ctx: Ctx, session: SessionRow, body: QueryContextBody): Promise<string> {
  const history = recalledHistory(session, body.history_scope);
  const prefix = history
    ? `${historyCachePrefix(ctx.tenantId, history.id)}${keyPart(session.id)}:` +
      `${sessionCacheVersion(session)}.${historyCacheVersion(history)}:`
    : `${sessionCachePrefix(ctx.tenantId, session.id)}${sessionCacheVersion(session)}:`;
  return `${prefix}${await sha256Hex(JSON.stringify(body))}`;
}

async function cacheGet<T>(ctx: Ctx, key: string): Promise<T | undefined> {
  try {
    const value = await ctx.cache.get<T>(key);
    ctx.metrics?.cacheLookup(value ? 'hit' : 'miss');
    return value;
  } catch (err) {
    ctx.metrics?.cacheLookup('error');
    ctx.logger.warn('cache read failed; serving from the database', { error: (err as Error).message });
    return undefined;
  }
}

async function cacheSet(ctx: Ctx, key: string, value: unknown) {
  try {
    await ctx.cache.set(key, value, defaults.contextCacheTtlSeconds);
  } catch (err) {
    ctx.logger.warn('cache write failed', { error: (err as Error).message });
  }
}
