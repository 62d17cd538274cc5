// Semantic seeds (ADR 0006): turns that answer in other words, by soft term matching of the query's words against the
// session's words over word vectors. The session's word index stays in process and is extended with new turns only.
import { defaults } from '../../config/tuning.js';
import type { WordLevel } from '../../embedder.js';
import type { TurnSource } from './types.js';
import { descending, firstSorted } from '../sorted.js';
import { SessionMemo, withRoom } from './session-memo.js';

interface SessionWords {
  /** Highest sequence read so far. */
  upTo: number;
  sequences: number[];
  /** Word row → indexes (into `sequences`) of the turns that use it. */
  vocabulary: Map<number, number[]>;
  /** The vocabulary's rows in the order they were added (its keys, as an array to scan). */
  rows: number[];
  /** Query word row → its closest rows in this vocabulary (see relatedRows), extended as words are added. */
  related: Map<number, { row: number; sim: number }[]>;
}

/** One index per session, the least recently queried dropped first past `defaults.semantic.sessionsKept`. */
const sessions = new SessionMemo<SessionWords>((kept) => kept <= defaults.semantic.sessionsKept);

/** Drops a session's word index (on deletion: what was derived from its content must not outlive it here). */
export function forgetWords(tenantId: string, sessionId: string): void {
  sessions.forget(tenantId, sessionId);
}

/** Sessions whose word index this process holds. */
export const wordIndexStats = () => ({ sessions: sessions.stats().entries });

export interface SemanticSeedInput {
  source: Pick<TurnSource, 'conversation'>;
  words: WordLevel;
  tenantId: string;
  /** The session and its creation time: a session deleted and created again under its id starts afresh. */
  session: { id: string; created_at: string; last_sequence: number };
  query: string;
  count: number;
}

/** Words of the query worth expanding: not frequent function words, not names (capitalised inside a sentence). */
export function queryWords(words: WordLevel, query: string): number[] {
  const names = new Set((query.match(/(?<=[\p{L}\p{N},;:] +)\p{Lu}[\p{L}'-]*/gu) ?? []).map((n) => n.toLowerCase()));
  const kept = query
    .split(/\s+/)
    .filter((token) => !names.has(token.replace(/[^\p{L}'-]/gu, '').toLowerCase()))
    .join(' ');
  // Rows are frequency ranks: the most frequent words relate to everything and are left out.
  return [...new Set(words.rows(kept))].filter((row) => row >= defaults.semantic.minQueryRank);
}

/** What a session's word index is read from: everything a search takes but its query. */
export type WordIndexInput = Omit<SemanticSeedInput, 'query' | 'count'>;

/**
 * Brings the session's word index up to date with its newest turns, as the next search would (see prepareSearch),
 * when a search built one; false when none is held.
 */
export async function prepareWords(input: WordIndexInput): Promise<boolean> {
  if (!sessions.peek(indexKey(input))) return false;
  await sessionWords(input);
  return true;
}

/** The session's word index is kept under its tenant, id and creation time. */
const indexKey = (input: WordIndexInput) => ({
  tenantId: input.tenantId,
  id: input.session.id,
  created_at: input.session.created_at,
});

async function sessionWords(input: WordIndexInput): Promise<SessionWords> {
  const { window } = defaults.semantic;
  const key = indexKey(input);
  let entry = sessions.peek(key);
  // Started afresh when the session is not the one indexed, and once it holds twice the window, so that an index
  // kept for a long-lived session stays bounded (queries only look at the newest `window` turns).
  if (
    !entry ||
    entry.upTo > input.session.last_sequence ||
    input.session.last_sequence - (entry.sequences[0] ?? 0) >= 2 * window
  )
    entry = {
      upTo: 0,
      sequences: [],
      vocabulary: new Map(),
      rows: [],
      related: new Map(),
    };
  sessions.set(key, '', entry, 1); // now the most recently used
  if (entry.upTo >= input.session.last_sequence) return entry;

  const from = Math.max(entry.upTo, input.session.last_sequence - window);
  const rows = await input.source.conversation(from);
  const added: number[] = [];
  for (const r of rows) {
    if (r.sequence > input.session.last_sequence) break; // appended since this request read the session
    const index = entry.sequences.push(r.sequence) - 1;
    for (const row of new Set(input.words.rows(r.content))) {
      if (row < defaults.semantic.minTurnRank) continue;
      const turns = entry.vocabulary.get(row);
      if (turns) turns.push(index);
      else {
        entry.vocabulary.set(row, [index]);
        entry.rows.push(row);
        added.push(row);
      }
    }
  }
  entry.upTo = input.session.last_sequence;
  // Words new to the session may join a query word's closest ones; the rest of each list still holds.
  if (added.length && entry.related.size) {
    const qRows = [...entry.related.keys()];
    const lists = closest(input.words, qRows, added, (k) => entry.related.get(qRows[k]!)!);
    qRows.forEach((qRow, k) => entry.related.set(qRow, lists[k]!));
  }
  return entry;
}

type Related = { row: number; sim: number }[];

/**
 * For each of `qRows`, the closest `relatedPerWord` of `rows` (and of `known(k)`, already the closest of others, in
 * order) at cosine ≥ threshold; `known(k)` itself when none of `rows` is that close. All query rows in one scan.
 */
export function closest(
  words: WordLevel,
  qRows: readonly number[],
  rows: readonly number[],
  known: (k: number) => Related = () => [],
): Related[] {
  const { threshold } = defaults.semantic;
  const found: (Related | undefined)[] = qRows.map(() => undefined);
  const add = (k: number, i: number, sim: number) => {
    const row = rows[i]!;
    if (row !== qRows[k]) (found[k] ??= [...known(k)]).push({ row, sim });
  };
  if (words.near) words.near(qRows, rows, threshold, add);
  else
    qRows.forEach((qRow, k) =>
      rows.forEach((row, i) => {
        const sim = words.cosine(qRow, row);
        if (sim >= threshold) add(k, i, sim);
      }),
    );
  // The closest few carry the meaning; a frequent word is related to thousands of others.
  return found.map((related, k) =>
    related ? firstSorted(related, defaults.semantic.relatedPerWord, (a, b) => descending(a.sim, b.sim)) : known(k),
  );
}

/** Query words not seen on this index before get their related session words (see closest), kept with the index. */
function relateNew(words: WordLevel, entry: SessionWords, q: readonly number[]): void {
  const fresh = q.filter((qRow) => !entry.related.has(qRow));
  if (!fresh.length) return;
  closest(words, fresh, entry.rows).forEach((related, k) => entry.related.set(fresh[k]!, related));
}

/**
 * A search's working arrays, kept between searches (each runs synchronously once its index is read): by turn, its
 * summed and its best closeness (zero but while a search fills them), and the turns a search touched.
 */
const scratch = {
  total: new Float32Array(0),
  best: new Float32Array(0),
  seen: new Int32Array(0),
  touched: new Int32Array(0),
};

/** Sequences of up to `count` turns closest in meaning to the query, best first, among the session's newest. */
export async function semanticSeeds(input: SemanticSeedInput): Promise<number[]> {
  const q = queryWords(input.words, input.query);
  if (q.length === 0 || input.count <= 0) return [];
  const entry = await sessionWords(input);
  const { threshold } = defaults.semantic;
  const oldest = entry.upTo - defaults.semantic.window;
  const n = entry.sequences.length;
  // Their contents are zero between searches, so a larger array needs nothing copied.
  const total = (scratch.total = withRoom(scratch.total, 0, n, 0));
  const best = (scratch.best = withRoom(scratch.best, 0, n, 0));
  const seen = (scratch.seen = withRoom(scratch.seen, 0, n, 0));
  const touched = (scratch.touched = withRoom(scratch.touched, 0, n, 0));
  // Each turn is listed once in `seen` per query word and once in `touched`: a related word's closeness is at least
  // the threshold (> 0) and a word's weight positive, so `best` and `total` leave 0 at the first visit.
  let touchedCount = 0;
  let seenCount = 0;
  relateNew(input.words, entry, q);
  try {
    for (const qRow of q) {
      // The best related word of each turn for this query word.
      const related = entry.related.get(qRow)!;
      for (let r = 0; r < related.length; r++) {
        const { row, sim } = related[r]!;
        const turns = entry.vocabulary.get(row);
        if (!turns) continue;
        for (let k = 0; k < turns.length; k++) {
          const t = turns[k]!;
          if (best[t] === 0) seen[seenCount++] = t;
          if (sim > best[t]!) best[t] = sim;
        }
      }
      const w = input.words.weight(qRow);
      for (let k = 0; k < seenCount; k++) {
        const t = seen[k]!;
        if (total[t] === 0) touched[touchedCount++] = t;
        total[t]! += (w * (best[t]! - threshold)) / (1 - threshold) + 1e-9;
        best[t] = 0;
      }
      // Its turns' `best` are 0 again: nothing for `finally` to clear.
      seenCount = 0;
    }
    const within: number[] = [];
    for (let k = 0; k < touchedCount; k++) if (entry.sequences[touched[k]!]! > oldest) within.push(touched[k]!);
    return firstSorted(
      within,
      input.count,
      (a, b) => descending(total[a]!, total[b]!) || entry.sequences[b]! - entry.sequences[a]!,
    ).map((t) => entry.sequences[t]!);
  } finally {
    for (let k = 0; k < touchedCount; k++) total[touched[k]!] = 0;
    for (let k = 0; k < seenCount; k++) best[seen[k]!] = 0;
  }
}
