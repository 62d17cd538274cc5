// Turn vectors (ADR 0012): a job embeds a session's new user and assistant turns with the remote model and stores them
// from the newest stored vector on, with ON CONFLICT DO NOTHING, so a repeated or racing job stores nothing twice.
import { sql } from 'drizzle-orm';
import { defaults } from '../config/tuning.js';
import { int } from '../db/decode.js';
import { embeddedText, encodeVector } from '../pipeline/retriever/vector-seeds.js';
import type { Deps, EmbedJob } from '../ports.js';

export interface EmbedResult {
  status: 'embedded' | 'skipped';
  reason: string;
  embedded?: number;
}

/** Queues embedding after a write; a lost job is caught up by the next write's, so failure is logged, not thrown. */
export async function enqueueEmbed(deps: Deps, tenantId: string, sessionId: string): Promise<void> {
  if (!deps.embedder?.stored) return;
  try {
    await deps.queue.send({ kind: 'embed', tenant_id: tenantId, session_id: sessionId, job_id: crypto.randomUUID() });
  } catch (err) {
    deps.logger.warn('could not enqueue embedding', { session_id: sessionId, error: (err as Error).message });
  }
}

export async function embedTurns(deps: Deps, job: EmbedJob): Promise<EmbedResult> {
  const embedder = deps.embedder;
  if (!embedder?.stored) return { status: 'skipped', reason: 'no embedding model configured' };
  const { tenant_id: tenantId, session_id: sessionId } = job;
  const cfg = defaults.vectors;
  const [session] = await deps.store.query<{ last_sequence: number; embedded: number | null }>(sql`
    SELECT s.last_sequence, (SELECT max(sequence) FROM turn_vectors v
      WHERE v.tenant_id = s.tenant_id AND v.session_id = s.id AND v.model = ${embedder.model}) AS embedded
    FROM sessions s WHERE s.tenant_id = ${tenantId} AND s.id = ${sessionId}`);
  if (!session) return { status: 'skipped', reason: 'session no longer exists' };
  // Only the newest `window` turns are searched by meaning; older ones are not worth a model call.
  let after = Math.max(int(session.embedded ?? 0), int(session.last_sequence) - cfg.window);
  let embedded = 0;
  while (embedded < cfg.perJob) {
    const turns = await deps.store.query<{ sequence: number; name: string | null; content: string }>(sql`
      SELECT sequence, name, content FROM turns
      WHERE tenant_id = ${tenantId} AND session_id = ${sessionId} AND sequence > ${after}
        AND role IN ('user', 'assistant') AND content <> ''
      ORDER BY sequence LIMIT ${cfg.batch}`);
    if (turns.length === 0) break;
    const vectors = await embedder.embed(turns.map(embeddedText));
    const rows = turns.map((t, i) => {
      const { scale, vector } = encodeVector(vectors[i]!);
      return sql`(${tenantId}::text, ${sessionId}::text, ${embedder.model}::text, ${int(t.sequence)}::int, ${scale}::real, ${vector}::text)`;
    });
    // The session may have been deleted meanwhile: its key no longer exists, and nothing is stored.
    await deps.store.query(sql`
      INSERT INTO turn_vectors (tenant_id, session_id, model, sequence, scale, vector)
      SELECT v.* FROM (VALUES ${sql.join(rows, sql`, `)}) AS v(tenant_id, session_id, model, sequence, scale, vector)
      WHERE EXISTS (SELECT 1 FROM sessions WHERE tenant_id = ${tenantId} AND id = ${sessionId})
      ON CONFLICT DO NOTHING`);
    embedded += turns.length;
    after = int(turns[turns.length - 1]!.sequence);
  }
  if (embedded >= cfg.perJob) await enqueueEmbed(deps, tenantId, sessionId);
  return embedded > 0
    ? { status: 'embedded', reason: 'new turns embedded', embedded }
    : { status: 'skipped', reason: 'every turn has a vector' };
}
