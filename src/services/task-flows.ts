// Agents and their task flows: the model calls an agent makes in order, each with its context recipe. A call's context
// is an ordinary QueryContext with the recipe as its body, so it shares the versioned cache (ADR 0007).
import { sql } from 'drizzle-orm';
import { bool, json } from '../db/decode.js';
import { limits } from '../config/tuning.js';
import { ApiError, notFound } from '../errors.js';
import { sha256Hex } from '../crypto.js';
import type { Ctx, Deps } from '../ports.js';
import { QueryContextBody } from '../schemas/context.js';
import {
  AgentConfig,
  StoredModelCall,
  type AgentBody,
  type ModelCall,
  type TaskFlow,
  type TaskFlowBody,
} from '../schemas/flows.js';
import { webhookTargetVetted } from './webhooks.js';

/** The configuration as clients may see it: the webhook secret never leaves the store. */
export function redactConfig(config: Record<string, unknown>): Record<string, unknown> {
  const webhook = config.webhook as Record<string, unknown> | undefined;
  if (!webhook || typeof webhook !== 'object') return config;
  const { secret: _secret, ...rest } = webhook;
  return { ...config, webhook: rest };
}

export async function registerAgent(ctx: Ctx, body: AgentBody) {
  const hook = body.config.webhook;
  if (hook && !(await webhookTargetVetted(hook.url, ctx.env.CONTEXT_WEBHOOK_ALLOW_PRIVATE, ctx.resolveHost)))
    throw new ApiError('BAD_REQUEST', 'config.webhook.url: must not point at a loopback, private or internal host');
  const [row] = await ctx.store.query<{ created: boolean | string }>(sql`
    INSERT INTO agents (tenant_id, id, name, description, config, llm_provider)
    VALUES (${ctx.tenantId}, ${body.agent_id}, ${body.name ?? null}, ${body.description ?? null},
            ${JSON.stringify(body.config)}::jsonb, ${body.llm_provider ?? null})
    ON CONFLICT (tenant_id, id) DO UPDATE SET
      name = excluded.name, description = excluded.description, config = excluded.config,
      llm_provider = excluded.llm_provider, updated_at = now()
    RETURNING (xmax = 0) AS created`);
  return {
    agent_id: body.agent_id,
    name: body.name ?? null,
    description: body.description ?? null,
    llm_provider: body.llm_provider ?? null,
    config: redactConfig(body.config),
    created: bool(row!.created),
  };
}

export async function putTaskFlow(
  ctx: Ctx,
  agentId: string,
  flowId: string,
  body: TaskFlowBody,
): Promise<TaskFlow & { created: boolean }> {
  // Only into a registered agent with room for another flow (replacing one of its flows always fits): the insert
  // selects the agent row and counts its other flows, so a missing agent or a full one stores nothing.
  const [row] = await ctx.store.query<{ created: boolean | string | null; updated_at: string | null }>(sql`
    WITH a AS (
      SELECT ag.tenant_id, ag.id,
             (SELECT count(*) FROM task_flows f
              WHERE f.tenant_id = ag.tenant_id AND f.agent_id = ag.id AND f.id <> ${flowId})::int AS others
      FROM agents ag WHERE ag.tenant_id = ${ctx.tenantId} AND ag.id = ${agentId}
    ),
    ins AS (
      INSERT INTO task_flows (tenant_id, agent_id, id, name, model_calls)
      SELECT a.tenant_id, a.id, ${flowId}, ${body.name ?? null}, ${JSON.stringify(body.model_calls)}::jsonb
      FROM a WHERE a.others < ${limits.flowsPerAgent}::int
      ON CONFLICT (tenant_id, agent_id, id) DO UPDATE SET
        name = excluded.name, model_calls = excluded.model_calls, updated_at = now()
      RETURNING (xmax = 0) AS created, updated_at
    )
    SELECT ins.created, ins.updated_at FROM a LEFT JOIN ins ON true`);
  if (!row) throw notFound(`agent "${agentId}"`);
  if (row.updated_at === null)
    throw new ApiError(
      'BAD_REQUEST',
      `an agent may declare at most ${limits.flowsPerAgent} task flows (limits.flowsPerAgent); delete one first`,
      { limit: 'flowsPerAgent', max: limits.flowsPerAgent },
    );
  return {
    agent_id: agentId,
    flow_id: flowId,
    name: body.name ?? null,
    model_calls: body.model_calls,
    updated_at: new Date(row.updated_at).toISOString(),
    created: bool(row.created),
  };
}

export async function listTaskFlows(ctx: Ctx, agentId: string): Promise<TaskFlow[]> {
  const [agent] = await ctx.store.query(
    sql`SELECT 1 FROM agents WHERE tenant_id = ${ctx.tenantId} AND id = ${agentId}`,
  );
  if (!agent) throw notFound(`agent "${agentId}"`);
  const rows = await ctx.store.query<{ id: string; name: string | null; model_calls: unknown; updated_at: string }>(sql`
    SELECT id, name, model_calls, updated_at FROM task_flows
    WHERE tenant_id = ${ctx.tenantId} AND agent_id = ${agentId} ORDER BY id`);
  return rows.map((r) => ({
    agent_id: agentId,
    flow_id: r.id,
    name: r.name,
    model_calls: json<unknown[]>(r.model_calls).map((c) => StoredModelCall.parse(c)),
    updated_at: new Date(r.updated_at).toISOString(),
  }));
}

export async function deleteTaskFlow(ctx: Ctx, agentId: string, flowId: string): Promise<void> {
  const rows = await ctx.store.query(sql`
    DELETE FROM task_flows WHERE tenant_id = ${ctx.tenantId} AND agent_id = ${agentId} AND id = ${flowId} RETURNING id`);
  if (rows.length === 0) throw notFound(`task flow "${flowId}" of agent "${agentId}"`);
}

export interface AgentPlan {
  agentId: string | null;
  config: AgentConfig;
  calls: { flowId: string; call: ModelCall }[];
}

/** The session's agent, its configuration and every model call of its flows, in one round trip. */
export async function agentPlan(deps: Deps, tenantId: string, sessionId: string): Promise<AgentPlan | undefined> {
  const rows = await deps.store.query<{
    agent_id: string | null;
    config: unknown;
    flow_id: string | null;
    model_calls: unknown;
  }>(sql`
    SELECT s.agent_id, a.config, f.id AS flow_id, f.model_calls
    FROM sessions s
    LEFT JOIN agents a ON a.tenant_id = s.tenant_id AND a.id = s.agent_id
    LEFT JOIN task_flows f ON f.tenant_id = s.tenant_id AND f.agent_id = s.agent_id
    WHERE s.tenant_id = ${tenantId} AND s.id = ${sessionId}
    ORDER BY f.id`);
  if (rows.length === 0) return undefined;
  const parsed = AgentConfig.safeParse(json(rows[0]!.config ?? {}));
  const calls: AgentPlan['calls'] = [];
  for (const r of rows) {
    if (!r.flow_id) continue;
    for (const c of json<unknown[]>(r.model_calls)) calls.push({ flowId: r.flow_id, call: StoredModelCall.parse(c) });
  }
  return { agentId: rows[0]!.agent_id, config: parsed.success ? parsed.data : {}, calls };
}

export interface Variant {
  strategy: string;
  variant: string;
  overrides: Partial<Pick<ModelCall, 'template' | 'recent_turns' | 'section_weights'>>;
}

/**
 * The strategy variant of a session: a stable hash of the session id picks a variant in proportion to the weights,
 * so every context of a session (precomputed or live) comes from the same variant.
 */
export async function variantFor(config: AgentConfig, sessionId: string): Promise<Variant> {
  const strategy = config.strategy;
  if (!strategy) return { strategy: 'default', variant: 'default', overrides: {} };
  const total = strategy.variants.reduce((s, v) => s + v.weight, 0);
  const point = (parseInt((await sha256Hex(`variant:${sessionId}`)).slice(0, 8), 16) / 0x1_0000_0000) * total;
  let acc = 0;
  let chosen = strategy.variants.find((v) => v.weight > 0)!;
  for (const v of strategy.variants) {
    acc += v.weight;
    if (v.weight > 0 && point < acc) {
      chosen = v;
      break;
    }
  }
  const { name, weight: _w, ...overrides } = chosen;
  return { strategy: strategy.name, variant: name, overrides };
}

/** The QueryContext body of a model call under a variant; the same inputs always give the same body (and cache key). */
export function bodyForCall(call: ModelCall, variant: Variant, query?: string): QueryContextBody {
  const weights = { ...call.section_weights, ...variant.overrides.section_weights };
  const recent = variant.overrides.recent_turns ?? call.recent_turns;
  return QueryContextBody.parse({
    budget_tokens: call.budget_tokens,
    reserve_tokens: call.reserve_tokens,
    template: variant.overrides.template ?? call.template,
    ...(recent === undefined ? {} : { recent_turns: recent }),
    ...(Object.keys(weights).length ? { section_weights: weights } : {}),
    ...((query ?? call.query) === undefined ? {} : { query: query ?? call.query }),
  });
}

export function findCall(plan: AgentPlan, modelCallId: string, flowId?: string) {
  const matches = plan.calls.filter((c) => c.call.id === modelCallId && (flowId === undefined || c.flowId === flowId));
  if (matches.length === 0)
    throw notFound(`model call "${modelCallId}"${flowId ? ` in flow "${flowId}"` : ''} of the session's agent`);
  if (matches.length > 1)
    throw new ApiError('BAD_REQUEST', `model call "${modelCallId}" is in several flows; name one with flow_id`, {
      flows: matches.map((m) => m.flowId),
    });
  return matches[0]!;
}
