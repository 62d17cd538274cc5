// Tool chains: RegisterToolChain saves the calls a model asked for; UpdateToolResult stores a result as a tool turn
// linked to its call. Both are safe to retry: the chain id and the external ids derived from chain and step guard them.
import { sql } from 'drizzle-orm';
import { joinKey } from '../cache-keys.js';
import { int, json } from '../db/decode.js';
import { ApiError, notFound } from '../errors.js';
import { summarizeToolResult } from '../pipeline/compressor/tool-summary.js';
import { keepFor } from '../pipeline/tool-findings.js';
import type { Ctx } from '../ports.js';
import type { RegisterToolChainBody, ToolChain, UpdateToolResultBody } from '../schemas/tools.js';
import { requireSession } from './sessions.js';
import { writeTurns } from './write-turns.js';

export async function registerToolChain(ctx: Ctx, sessionId: string, body: RegisterToolChainBody): Promise<ToolChain> {
  await requireSession(ctx, sessionId);
  const stepIds = body.steps.map((s) => s.step_id);
  if (new Set(stepIds).size !== stepIds.length)
    throw new ApiError('BAD_REQUEST', 'steps: step_id values must be unique');
  const chainId = body.chain_id ?? crypto.randomUUID();
  const t = ctx.tenantId;
  const steps = body.steps.map((s, i) => ({
    step_id: s.step_id,
    position: i + 1,
    tool_name: s.tool_name,
    arguments: s.arguments,
  }));
  const [row] = await ctx.store.query<{ inserted: number; existing_session: string | null }>(sql`
    WITH c AS (
      INSERT INTO tool_chains (tenant_id, session_id, id, name) VALUES (${t}, ${sessionId}, ${chainId}, ${body.name ?? null})
      ON CONFLICT DO NOTHING RETURNING id
    ),
    s AS (
      INSERT INTO tool_results (tenant_id, session_id, chain_id, step_id, position, tool_name, arguments)
      SELECT ${t}, ${sessionId}, c.id, r.step_id, r.position, r.tool_name, r.arguments
      FROM c, jsonb_to_recordset(${JSON.stringify(steps)}::jsonb) AS r(step_id text, position int, tool_name text, arguments jsonb)
      RETURNING 1
    )
    SELECT (SELECT count(*)::int FROM c) AS inserted,
           (SELECT session_id FROM tool_chains WHERE tenant_id = ${t} AND id = ${chainId}) AS existing_session`);
  if (int(row?.inserted ?? 0) === 0 && row?.existing_session !== sessionId)
    throw new ApiError('CONFLICT', `tool chain "${chainId}" belongs to another session`);
  await writeTurns(ctx, {
    sessionId,
    body: {
      turns: [
        {
          role: 'assistant',
          content: '',
          external_id: `toolchain:${chainId}`,
          tool_calls: body.steps.map((s) => ({ id: s.step_id, name: s.tool_name, arguments: s.arguments })),
        },
      ],
    },
  });
  return getToolChain(ctx, sessionId, chainId);
}

export async function updateToolResult(
  ctx: Ctx,
  input: { sessionId: string; chainId: string; stepId: string; body: UpdateToolResultBody },
): Promise<ToolChain> {
  const t = ctx.tenantId;
  const tokens = ctx.tokenizer.count(input.body.result);
  const [step] = await ctx.store.query<{ tool_name: string }>(sql`
    SELECT tool_name FROM tool_results
    WHERE tenant_id = ${t} AND session_id = ${input.sessionId} AND chain_id = ${input.chainId} AND step_id = ${input.stepId}`);
  if (!step) throw notFound(`step "${input.stepId}" of tool chain "${input.chainId}"`);
  const summary = summarizeToolResult(input.body.result, ctx.tokenizer, {
    keep: keepFor(ctx.env.CONTEXT_TOOL_FIELDS, step.tool_name),
  }).text;
  const [row] = await ctx.store.query<{ tool_name: string }>(sql`
    WITH upd AS (
      UPDATE tool_results SET status = ${input.body.status}, result = ${input.body.result},
        result_token_count = ${tokens}, summary = ${summary}, updated_at = now()
      WHERE tenant_id = ${t} AND session_id = ${input.sessionId} AND chain_id = ${input.chainId} AND step_id = ${input.stepId}
      RETURNING tool_name
    ),
    chain AS (
      UPDATE tool_chains SET updated_at = now(),
        status = CASE WHEN ${input.body.status} = 'error' THEN 'failed'
                      WHEN NOT EXISTS (SELECT 1 FROM tool_results WHERE tenant_id = ${t} AND chain_id = ${input.chainId}
                                         AND step_id <> ${input.stepId} AND status = 'pending') THEN 'done'
                      ELSE status END
      WHERE tenant_id = ${t} AND id = ${input.chainId} AND EXISTS (SELECT 1 FROM upd)
    )
    SELECT tool_name FROM upd`);
  if (!row) throw notFound(`step "${input.stepId}" of tool chain "${input.chainId}"`);
  await writeTurns(ctx, {
    sessionId: input.sessionId,
    body: {
      turns: [
        {
          role: 'tool',
          name: row.tool_name,
          tool_call_id: input.stepId,
          content: input.body.status === 'error' ? `ERROR: ${input.body.result}` : input.body.result,
          external_id: `toolresult:${joinKey(input.chainId, input.stepId)}`,
        },
      ],
    },
  });
  return getToolChain(ctx, input.sessionId, input.chainId);
}

export async function getToolChain(ctx: Ctx, sessionId: string, chainId: string): Promise<ToolChain> {
  const rows = await ctx.store.query<{
    name: string | null;
    status: ToolChain['status'];
    step_id: string;
    position: number;
    tool_name: string;
    arguments: unknown;
    step_status: 'pending' | 'ok' | 'error';
    result: string | null;
    result_token_count: number;
    summary: string | null;
  }>(sql`
    SELECT c.name, c.status, r.step_id, r.position, r.tool_name, r.arguments, r.status AS step_status, r.result,
           r.result_token_count, r.summary
    FROM tool_chains c JOIN tool_results r ON r.tenant_id = c.tenant_id AND r.chain_id = c.id
    WHERE c.tenant_id = ${ctx.tenantId} AND c.id = ${chainId} AND c.session_id = ${sessionId}
    ORDER BY r.position`);
  const first = rows[0];
  if (!first) throw notFound(`tool chain "${chainId}"`);
  return {
    chain_id: chainId,
    session_id: sessionId,
    name: first.name,
    status: first.status,
    steps: rows.map((r) => ({
      step_id: r.step_id,
      position: int(r.position),
      tool_name: r.tool_name,
      arguments: json(r.arguments),
      status: r.step_status,
      result: r.result,
      result_token_count: int(r.result_token_count),
      summary: r.summary,
    })),
  };
}
