// Relevant history for one query: lexical re-ranking of the bounded candidate set, an optional semantic signal
// fused by reciprocal rank, and near-duplicate removal among the candidates a budget could hold.
import { defaults } from '../../config.js';
import { dot, hashedNgramEmbedder, type Embedder } from '../../embedder.js';
import type { Logger } from '../../logger.js';
import { dropNearDuplicates } from './dedup.js';
import { rankIds, reciprocalRankFusion } from './fusion.js';
import type { HistoryCandidate } from './index.js';
import { rankCandidates, type QueryTerm, type RankWeights } from './rank.js';
import { timeCues } from './temporal.js';
import { closenessPrior, embeddedText, type KnownVectors } from './vector-seeds.js';

export interface RankedTurn {
  candidate: HistoryCandidate;
  score: number;
  /** Id of a better-ranked candidate this one nearly repeats. */
  duplicateOf?: string;
}

export interface RelevantInput {
  query: string;
  terms: readonly QueryTerm[];
  candidates: readonly HistoryCandidate[];
  totalTurns: number;
  embedder?: Embedder | undefined;
  logger?: Logger;
  weights?: Partial<RankWeights>;
  /** Vectors the query already has from the semantic embedder (its own, stored turns'): not embedded again. */
  known?: KnownVectors | undefined;
}

/** Near-duplicates are texts that repeat the same words, whatever embedder ranks by meaning. */
const spelling = hashedNgramEmbedder();

/** Turn vectors by embedder and turn id: turns never change, so a vector is computed once per process. */
const vectorCache = new Map<string, Float32Array>();
const VECTOR_CACHE_MAX = 50_000;

/**
 * Vectors of the query and the turns: those already `known` (stored turn vectors, ADR 0012) or cached, the rest
 * embedded in one call.
 */
async function vectorsFor(embedder: Embedder, query: string | undefined, turns: readonly HistoryCandidate[], known?: KnownVectors) {
  const key = (id: string) => `${embedder.model}\u0000${id}`;
  // This call's vectors, kept apart from the process-wide cache, which may be cleared below.
  const local = new Map<string, Float32Array>();
  const missing: HistoryCandidate[] = [];
  for (const t of turns) {
    const v = known?.of(t.sequence) ?? vectorCache.get(key(t.id));
    if (v) local.set(t.id, v);
    else missing.push(t);
  }
  const embedQuery = query !== undefined && !known;
  // By meaning, a turn is who said what (embeddedText); by spelling, only what was said.
  const texts = [...(embedQuery ? [query] : []), ...missing.map((t) => (embedder.semantic ? embeddedText(t.turn) : t.content))];
  const fresh = texts.length ? await embedder.embed(texts) : [];
  const offset = embedQuery ? 1 : 0;
  missing.forEach((t, i) => local.set(t.id, fresh[i + offset]!));
  if (vectorCache.size + missing.length > VECTOR_CACHE_MAX) vectorCache.clear();
  for (const t of missing) vectorCache.set(key(t.id), local.get(t.id)!);
  return { query: query === undefined ? undefined : (known?.query ?? fresh[0]), of: (id: string) => local.get(id) };
}

/** The items the near-duplicate check will compare: those sharing one of their keys with another item. */
function comparedOnly<T>(items: readonly T[], keys: (item: T) => readonly string[]): T[] {
  const count = new Map<string, number>();
  for (const item of items) for (const k of new Set(keys(item))) count.set(k, (count.get(k) ?? 0) + 1);
  return items.filter((item) => keys(item).some((k) => count.get(k)! > 1));
}

export async function rankRelevant(input: RelevantInput): Promise<RankedTurn[]> {
  const ranked = rankCandidates({
    candidates: input.candidates,
    terms: input.terms,
    totalTurns: input.totalTurns,
    cues: timeCues(input.query),
    weights: input.weights,
  });
  let out: RankedTurn[] = ranked.map((r) => ({ candidate: r.candidate as HistoryCandidate, score: r.score }));
  const cfg = defaults.history;
  // Seeds found by meaning share no term with the query, so the lexical ranking scores them 0 and leaves them out;
  // they join the part of the list the semantic signal re-orders.
  const scored = new Set(out.map((r) => r.candidate.id));
  const byMeaning = input.embedder?.semantic ? input.candidates.filter((c) => c.seed && !scored.has(c.id)) : [];
  if (byMeaning.length > 0) {
    const room = Math.max(0, cfg.embedTop - byMeaning.length);
    out = [...out.slice(0, room), ...byMeaning.map((candidate) => ({ candidate, score: 0 })), ...out.slice(room)];
  }
  if (out.length === 0) return out;

  const head = out.slice(0, cfg.embedTop);
  const tail = out.slice(cfg.embedTop);
  if (input.embedder?.semantic) {
    try {
      const vectors = await vectorsFor(input.embedder, input.query, head.map((r) => r.candidate), input.known);
      // Scales differ (BM25 vs cosine), so the two orders are fused by rank; the fused order keeps the lexical
      // scores' magnitudes by reassigning them in the new order.
      const lexicalIds = head.map((r) => r.candidate.id);
      const similarity = new Map(
        head.map((r) => [r.candidate.id, dot(vectors.query!, vectors.of(r.candidate.id)!) + closenessPrior(input.embedder, r.candidate.content)]),
      );
      const semanticIds = rankIds(similarity);
      const fused = reciprocalRankFusion([{ ids: lexicalIds }, { ids: semanticIds, weight: cfg.embeddingWeight }]);
      const byId = new Map(head.map((r) => [r.candidate.id, r]));
      const scores = head.map((r) => r.score);
      out = [...rankIds(fused).map((id, i) => ({ ...byId.get(id)!, score: scores[i]! })), ...tail];
    } catch (err) {
      input.logger?.warn('embedding failed; ranking on lexical signals only', { error: (err as Error).message });
    }
  }

  // Near-duplicates share their rarest lexemes, so only items sharing one of their two rarest are compared, and only
  // those are embedded (by spelling).
  const df = new Map<string, number>();
  for (const c of input.candidates) for (const lexeme of c.lexemes.tf.keys()) df.set(lexeme, (df.get(lexeme) ?? 0) + 1);
  const rarestOf = new Map<string, string[]>();
  const rarest = (r: RankedTurn) => {
    let keys = rarestOf.get(r.candidate.id);
    if (!keys) {
      keys = [...r.candidate.lexemes.tf.keys()]
        .filter((l) => !r.candidate.speakerLexemes.includes(l))
        .sort((a, b) => df.get(a)! - df.get(b)! || (a < b ? -1 : 1))
        .slice(0, 2);
      rarestOf.set(r.candidate.id, keys);
    }
    return keys;
  };
  const compared = out.slice(0, cfg.embedTop);
  const vectors = await vectorsFor(spelling, undefined, comparedOnly(compared, rarest).map((r) => r.candidate));
  const { duplicates } = dropNearDuplicates(
    compared,
    (a, b) => {
      // Lengths far apart cannot be near-duplicates; skip the dot product.
      const la = a.candidate.content.length;
      const lb = b.candidate.content.length;
      if (Math.min(la, lb) < 0.7 * Math.max(la, lb)) return 0;
      return dot(vectors.of(a.candidate.id)!, vectors.of(b.candidate.id)!);
    },
    cfg.duplicateCosine,
    { keys: rarest },
  );
  for (const d of duplicates) d.item.duplicateOf = d.of.candidate.id;
  return out;
}
