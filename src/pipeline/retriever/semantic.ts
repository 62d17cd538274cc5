// Semantic seeds: the turns closest in meaning to the query, whether or not they share a word with it. Vectors come
// from an in-process embedder and are kept per session in this process, read incrementally (only turns newer than
// the last one seen), so a query costs one small read and one pass of dot products over the newest turns.
import { sql } from 'drizzle-orm';
import { defaults } from '../../config.js';
import type { Store } from '../../db/store.js';
import type { Embedder } from '../../embedder.js';

interface SessionVectors {
  /** Highest sequence read so far. */
  upTo: number;
  sequences: number[];
  vectors: Float32Array[];
}

const sessions = new Map<string, SessionVectors>();

export interface SemanticSeedInput {
  store: Store;
  embedder: Embedder;
  tenantId: string;
  /** The session and its creation time: a session deleted and created again under its id starts afresh. */
  session: { id: string; created_at: string; last_sequence: number };
  query: string;
  count: number;
}

/** Sequences of the `count` turns most similar to the query among the session's newest `semanticWindow` turns. */
export async function semanticSeeds(input: SemanticSeedInput): Promise<number[]> {
  const { window, sessionsKept } = defaults.semantic;
  const key = `${input.tenantId}\u0000${input.session.id}\u0000${input.session.created_at}`;
  let entry = sessions.get(key);
  if (!entry || entry.upTo > input.session.last_sequence) entry = { upTo: 0, sequences: [], vectors: [] };
  sessions.delete(key);
  sessions.set(key, entry); // most recently used last
  if (sessions.size > sessionsKept) sessions.delete(sessions.keys().next().value!);

  if (entry.upTo < input.session.last_sequence) {
    const from = Math.max(entry.upTo, input.session.last_sequence - window);
    const rows = await input.store.query<{ sequence: number; content: string }>(sql`
      SELECT sequence, content FROM turns
      WHERE tenant_id = ${input.tenantId} AND session_id = ${input.session.id} AND sequence > ${from}
        AND role IN ('user', 'assistant')
      ORDER BY sequence`);
    const vectors = await input.embedder.embed(rows.map((r) => r.content));
    rows.forEach((r, i) => {
      entry.sequences.push(Number(r.sequence));
      entry.vectors.push(vectors[i]!);
    });
    entry.upTo = input.session.last_sequence;
    const excess = entry.sequences.length - window;
    if (excess > 0) {
      entry.sequences.splice(0, excess);
      entry.vectors.splice(0, excess);
    }
  }

  const [q] = await input.embedder.embed([input.query]);
  const best: { sequence: number; score: number }[] = [];
  for (let i = 0; i < entry.vectors.length; i++) {
    const v = entry.vectors[i]!;
    let score = 0;
    for (let d = 0; d < v.length; d++) score += v[d]! * q![d]!;
    if (best.length < input.count) best.push({ sequence: entry.sequences[i]!, score });
    else if (score > best[best.length - 1]!.score) best[best.length - 1] = { sequence: entry.sequences[i]!, score };
    else continue;
    best.sort((a, b) => b.score - a.score);
  }
  return best.filter((b) => b.score > 0).map((b) => b.sequence);
}
