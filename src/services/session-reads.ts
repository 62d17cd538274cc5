// Session reads: GetSessionContext, turn listing, SearchRelevantHistory, the compaction audit timeline and
// GetAgentContext.
import { z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { int, json, num, textArray } from '../db/decode.js';
import { notFound } from '../errors.js';
import { lexicalTurns, normalizeTurn, toTsQuery, type TurnRow } from '../pipeline/retriever/index.js';
import { redactConfig } from './task-flows.js';
import type { Ctx } from '../ports.js';
import type { AgentContext, Compaction, SessionView } from '../schemas/sessions.js';
import type { TurnView } from '../schemas/turns.js';
import { requireSession } from './sessions.js';

export async function getSessionContext(ctx: Ctx, sessionId: string): Promise<z.infer<typeof SessionView>> {
  const s = await requireSession(ctx, sessionId);
  return {
    session_id: s.id,
    agent_id: s.agent_id,
    user_id: s.user_id,
    status: s.status,
    metadata: s.metadata,
    turn_count: s.last_sequence,
    total_tokens: s.total_tokens,
    version: s.version,
    created_at: s.created_at,
    updated_at: s.updated_at,
    window: {
      max_tokens: s.max_tokens ?? 0,
      compression_strategy: s.compression_strategy ?? '',
      summary: s.summary ?? '',
      summary_token_count: s.summary_token_count ?? 0,
      summarized_through: s.summarized_through ?? 0,
      version: s.window_version ?? 0,
    },
  };
}

const toView = ({ score: _s, ...t }: TurnRow): TurnView => t;

export async function listTurns(ctx: Ctx, sessionId: string, q: { after_sequence: number; limit: number }) {
  await requireSession(ctx, sessionId);
  const rows = await ctx.store.query<TurnRow>(sql`
    SELECT id, sequence, role, name, content, token_count, external_id, tool_call_id, tool_calls, created_at, 0 AS score
    FROM turns WHERE tenant_id = ${ctx.tenantId} AND session_id = ${sessionId} AND sequence > ${q.after_sequence}
    ORDER BY sequence LIMIT ${q.limit + 1}`);
  const page = rows.slice(0, q.limit).map((r) => toView(normalizeTurn(r)));
  const last = page[page.length - 1];
  return { turns: page, next_cursor: rows.length > q.limit && last ? String(last.sequence) : null };
}

export async function searchHistory(ctx: Ctx, sessionId: string, body: { query: string; limit: number }) {
  await requireSession(ctx, sessionId);
  const tsQuery = toTsQuery(body.query);
  const rows = tsQuery ? await lexicalTurns(ctx.store, ctx.tenantId, sessionId, tsQuery, { limit: body.limit }) : [];
  return { results: rows.map((r) => ({ ...toView(r), score: r.score })) };
}

export async function listCompactions(
  ctx: Ctx,
  sessionId: string,
): Promise<{ compactions: z.infer<typeof Compaction>[] }> {
  await requireSession(ctx, sessionId);
  const rows = await ctx.store.query<z.infer<typeof Compaction>>(sql`
    SELECT id, strategy, reason, from_sequence, through_sequence, turn_count, tokens_before, tokens_after, output,
           model, duration_ms, created_at
    FROM compactions WHERE tenant_id = ${ctx.tenantId} AND session_id = ${sessionId} ORDER BY created_at DESC LIMIT 200`);
  return {
    compactions: rows.map((r) => ({
      ...r,
      from_sequence: int(r.from_sequence),
      through_sequence: int(r.through_sequence),
      turn_count: int(r.turn_count),
      tokens_before: int(r.tokens_before),
      tokens_after: int(r.tokens_after),
      duration_ms: num(r.duration_ms),
      created_at: new Date(r.created_at).toISOString(),
    })),
  };
}

export async function getAgentContext(ctx: Ctx, agentId: string): Promise<z.infer<typeof AgentContext>> {
  const [agent] = await ctx.store.query<{
    name: string | null;
    description: string | null;
    config: unknown;
    llm_provider: string | null;
    session_count: number;
  }>(sql`
    SELECT a.name, a.description, a.config, a.llm_provider,
           (SELECT count(*)::int FROM sessions s WHERE s.tenant_id = a.tenant_id AND s.agent_id = a.id) AS session_count
    FROM agents a WHERE a.tenant_id = ${ctx.tenantId} AND a.id = ${agentId}`);
  if (!agent) throw notFound(`agent "${agentId}"`);
  const memories = await ctx.store.query<{
    id: string;
    kind: string;
    content: string;
    shared_group_ids: string[] | string;
  }>(sql`
    SELECT id, kind, content, shared_group_ids FROM memories
    WHERE tenant_id = ${ctx.tenantId} AND scope = 'agent' AND agent_id = ${agentId}
    ORDER BY importance DESC, updated_at DESC LIMIT 50`);
  return {
    agent_id: agentId,
    name: agent.name,
    description: agent.description,
    config: redactConfig(json<Record<string, unknown>>(agent.config)),
    llm_provider: agent.llm_provider,
    session_count: int(agent.session_count),
    memories: memories.map((m) => ({
      ...m,
      shared_group_ids: textArray(m.shared_group_ids),
    })),
  };
}
