// RebuildContext: recompute a window's summary from the stored turns, optionally with another strategy.
import { sql } from 'drizzle-orm';
import { int } from '../db/decode.js';
import type { Strategy } from '../pipeline/compressor/index.js';
import type { Ctx } from '../ports.js';
import { requireSession } from './sessions.js';

export async function rebuildContext(
  ctx: Ctx,
  input: { sessionId: string; strategy?: Strategy | undefined; maxTokens?: number | undefined },
): Promise<{ job_id: string; session_id: string; status: 'queued'; strategy: string; max_tokens: number }> {
  const session = await requireSession(ctx, input.sessionId);
  // The session version moves too: a precompute queued before this request then skips instead of compressing the
  // window against the new limit ahead of the rebuild job (which would find the window moved and do nothing). The
  // rebuild job queues the precompute of the rebuilt window.
  const [window] = await ctx.store.query<{ compression_strategy: string; max_tokens: number; version: number }>(sql`
    WITH w AS (
      UPDATE context_windows SET
        compression_strategy = coalesce(${input.strategy ?? null}::text, compression_strategy),
        max_tokens = coalesce(${input.maxTokens ?? null}::int, max_tokens),
        version = version + 1, updated_at = now()
      WHERE tenant_id = ${ctx.tenantId} AND session_id = ${session.id}
      RETURNING compression_strategy, max_tokens, version
    ),
    s AS (
      UPDATE sessions SET version = version + 1
      WHERE tenant_id = ${ctx.tenantId} AND id = ${session.id} AND EXISTS (SELECT 1 FROM w)
    )
    SELECT compression_strategy, max_tokens, version FROM w`);
  const jobId = crypto.randomUUID();
  await ctx.queue.send({
    kind: 'compress',
    mode: 'rebuild',
    tenant_id: ctx.tenantId,
    session_id: session.id,
    job_id: jobId,
    window_version: window ? int(window.version) : undefined,
  });
  return {
    job_id: jobId,
    session_id: session.id,
    status: 'queued',
    strategy: window?.compression_strategy ?? '',
    max_tokens: int(window?.max_tokens ?? 0),
  };
}
