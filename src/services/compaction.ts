// Compression job, run by the queue consumer on Node and Workers: folds a window's oldest turns into its rolling
// summary and writes an audit row. The update is guarded by the window version, so a repeated job changes nothing.
import { sql } from 'drizzle-orm';
import { defaults } from '../config/tuning.js';
import { int, intOrNull, num } from '../db/decode.js';
import { compress, strategies, type Strategy } from '../pipeline/compressor/index.js';
import type { CompressJob, Deps } from '../ports.js';
import { publishEvent } from './events/publish.js';
import { findSession } from './sessions.js';

interface FoldTurn {
  sequence: number;
  role: string;
  name: string | null;
  content: string;
  token_count: number;
  importance: number;
}

export interface CompactionResult {
  status: 'compressed' | 'skipped';
  reason: string;
  through?: number;
  /** The session version the compaction moved the session to. */
  session_version?: number;
}

export async function compressSession(
  deps: Deps,
  tenantId: string,
  sessionId: string,
  mode: CompressJob['mode'],
  expectedWindowVersion?: number,
): Promise<CompactionResult> {
  const started = performance.now();
  const session = await findSession(deps, tenantId, sessionId);
  if (!session || session.window_version === null) return { status: 'skipped', reason: 'session no longer exists' };
  if (expectedWindowVersion !== undefined && session.window_version !== expectedWindowVersion)
    return { status: 'skipped', reason: 'window already rebuilt since this job was queued' };
  const maxTokens = session.max_tokens ?? defaults.windowMaxTokens;
  const strategy: Strategy = (strategies as readonly string[]).includes(session.compression_strategy ?? '')
    ? (session.compression_strategy as Strategy)
    : defaults.compressionStrategy;
  const rebuild = mode === 'rebuild';
  const after = rebuild ? 0 : (session.summarized_through ?? 0);
  const alreadyTokens = rebuild ? 0 : (session.summarized_tokens ?? 0);
  if (!rebuild && session.total_tokens - alreadyTokens <= maxTokens)
    return { status: 'skipped', reason: 'window is within its limit' };

  const rows = await deps.store.query<FoldTurn>(sql`
    SELECT sequence, role, name, content, token_count, importance FROM turns
    WHERE tenant_id = ${tenantId} AND session_id = ${sessionId} AND sequence > ${after}
    ORDER BY sequence`);
  const turns = rows.map((r) => ({
    ...r,
    sequence: int(r.sequence),
    token_count: int(r.token_count),
    importance: num(r.importance),
  }));

  // Keep the newest turns verbatim up to the keep share; fold everything older.
  const keepTokens = Math.floor(maxTokens * defaults.keepRecentShare);
  let kept = 0;
  let cut = turns.length;
  while (cut > 0 && kept + turns[cut - 1]!.token_count <= keepTokens) kept += turns[--cut]!.token_count;
  const folded = turns.slice(0, cut);
  const previousSummary = rebuild ? '' : (session.summary ?? '');
  const through = folded.length > 0 ? folded[folded.length - 1]!.sequence : after;
  const tokensBefore =
    folded.reduce((s, t) => s + t.token_count, 0) + (rebuild ? 0 : (session.summary_token_count ?? 0));

  const out = folded.length
    ? await compress(
        strategy,
        {
          previousSummary,
          turns: folded.map((t) => ({ speaker: t.name ?? t.role, text: t.content, importance: t.importance })),
        },
        defaults.summaryMaxTokens,
        deps,
      )
    : { text: previousSummary, method: strategy, model: undefined };
  const summaryTokens = deps.tokenizer.count(out.text);
  const foldedTokens = alreadyTokens + folded.reduce((s, t) => s + t.token_count, 0);
  const durationMs = performance.now() - started;

  const [done] = await deps.store.query<{ ok: number; session_version: number | null }>(sql`
    WITH upd AS (
      UPDATE context_windows SET summary = ${out.text}, summary_token_count = ${summaryTokens},
        summarized_through = ${through}, summarized_tokens = ${foldedTokens}, version = version + 1, updated_at = now()
      WHERE tenant_id = ${tenantId} AND session_id = ${sessionId} AND version = ${session.window_version}
      RETURNING 1
    ),
    audit AS (
      INSERT INTO compactions (id, tenant_id, session_id, strategy, from_sequence, through_sequence, turn_count,
                               tokens_before, tokens_after, output, model, reason, duration_ms)
      SELECT ${crypto.randomUUID()}::uuid, ${tenantId}, ${sessionId}, ${out.method}, ${after + 1}, ${through},
             ${folded.length}, ${tokensBefore}, ${summaryTokens}, ${out.text}, ${out.model ?? null}, ${mode}, ${durationMs}
      FROM upd
    ),
    bump AS (
      UPDATE sessions SET version = version + 1 WHERE tenant_id = ${tenantId} AND id = ${sessionId} AND EXISTS (SELECT 1 FROM upd)
      RETURNING version
    )
    SELECT count(*)::int AS ok, (SELECT version FROM bump) AS session_version FROM upd`);
  if (int(done?.ok ?? 0) === 0)
    return { status: 'skipped', reason: 'window changed while compressing; a newer job covers it' };
  deps.metrics?.compacted(durationMs / 1000, tokensBefore, summaryTokens);
  deps.logger.info('window compressed', {
    tenant_id: tenantId,
    session_id: sessionId,
    mode,
    method: out.method,
    turns: folded.length,
    tokens_before: tokensBefore,
    tokens_after: summaryTokens,
    duration_ms: Math.round(durationMs),
  });
  await publishEvent(deps, {
    type: 'context.compressed',
    tenant_id: tenantId,
    session_id: sessionId,
    mode,
    method: out.method,
    through_sequence: through,
    tokens_before: tokensBefore,
    tokens_after: summaryTokens,
  });
  const sessionVersion = intOrNull(done?.session_version) ?? undefined;
  return { status: 'compressed', reason: mode, through, session_version: sessionVersion };
}
