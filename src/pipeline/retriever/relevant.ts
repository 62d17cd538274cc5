// Relevant history for one query: the candidates' signals (./rank.ts) and closeness in meaning weighed by the learned
// ranker (./learned.ts) into the order the planner packs; near-duplicates removed among what a budget could hold.
import { defaults } from '../../config/tuning.js';
import { dot, hashedNgramEmbedder, type Embedder } from '../../embedder.js';
import type { Logger } from '../../logger.js';
import { descending, firstSorted } from '../sorted.js';
import { dropNearDuplicates } from './dedup.js';
import { featureMatrix, matrixProbabilities, ranker, type CandidateFacts } from './learned.js';
import type { HistoryCandidate, TurnRow } from './types.js';
import { lexemeCounts, rankSignals, type LexemeCounts, type QueryTerm, type RankWeights } from './rank.js';
import { asksAboutNow, timeCues } from './temporal.js';
import { embeddedText, type KnownVectors } from './vector-seeds.js';

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
  /** Vectors the query already has from the semantic embedder (its own, the session's turns'): not embedded again. */
  known?: KnownVectors | undefined;
  /** Sequences of the candidates found by meaning (they are seeds too). */
  meaningSeeds?: ReadonlySet<number> | undefined;
  /**
   * The budget the ranking is packed into: near-duplicates are then looked for only as far down as the packing can
   * reach (withinReach), where the outcome is the same (a turn is only compared with better-ranked ones).
   */
  budgetTokens?: number | undefined;
}

/** Near-duplicates are texts that repeat the same words, whatever embedder ranks by meaning. */
const spelling = hashedNgramEmbedder();

/** Turn vectors by embedder, then turn id: turns never change, so a vector is computed once per process. */
const vectorCache = new Map<string, Map<string, Float32Array>>();
let vectorsCached = 0;
const VECTOR_CACHE_MAX = 50_000;

/**
 * Vectors of the query (unless the caller has it: `knownQuery`) and of the turns, the cached ones reused and the rest
 * embedded in one call.
 */
async function vectorsFor(
  embedder: Embedder,
  query: string | undefined,
  turns: readonly HistoryCandidate[],
  knownQuery?: Float32Array,
) {
  // This call's vectors, kept apart from the process-wide cache, which may be cleared below.
  const local = new Map<string, Float32Array>();
  const missing: HistoryCandidate[] = [];
  const cached = vectorCache.get(embedder.model);
  for (const t of turns) {
    const v = cached?.get(t.id);
    if (v) local.set(t.id, v);
    else missing.push(t);
  }
  const embedQuery = query !== undefined && !knownQuery;
  // By meaning, a turn is who said what (embeddedText); by spelling, only what was said.
  const texts = [
    ...(embedQuery ? [query] : []),
    ...missing.map((t) => (embedder.semantic ? embeddedText(t.turn) : t.content)),
  ];
  const fresh = texts.length ? await embedder.embed(texts) : [];
  const offset = embedQuery ? 1 : 0;
  missing.forEach((t, i) => local.set(t.id, fresh[i + offset]!));
  if (vectorsCached + missing.length > VECTOR_CACHE_MAX) {
    vectorCache.clear();
    vectorsCached = 0;
  }
  let byId = vectorCache.get(embedder.model);
  if (!byId) vectorCache.set(embedder.model, (byId = new Map()));
  for (const t of missing) {
    if (!byId.has(t.id)) vectorsCached++;
    byId.set(t.id, local.get(t.id)!);
  }
  return { query: query === undefined ? undefined : (knownQuery ?? fresh[0]), of: (id: string) => local.get(id) };
}

/** The items the near-duplicate check will compare: those sharing one of their keys (distinct) with another item. */
function comparedOnly<T>(items: readonly T[], keys: (item: T) => readonly string[]): T[] {
  const count = new Map<string, number>();
  for (const item of items) for (const k of keys(item)) count.set(k, (count.get(k) ?? 0) + 1);
  return items.filter((item) => keys(item).some((k) => count.get(k)! > 1));
}

/** The two rarest lexemes seen so far (fewest holding it, then by spelling). */
interface Rarest {
  first: string | undefined;
  firstDf: number;
  second: string | undefined;
  secondDf: number;
}

function consider(r: Rarest, lexeme: string, d: number): void {
  if (r.first === undefined || d < r.firstDf || (d === r.firstDf && lexeme < r.first)) {
    r.second = r.first;
    r.secondDf = r.firstDf;
    r.first = lexeme;
    r.firstDf = d;
  } else if (r.second === undefined || d < r.secondDf || (d === r.secondDf && lexeme < r.second)) {
    r.second = lexeme;
    r.secondDf = d;
  }
}

/** A candidate's two rarest lexemes among the candidates (fewest holding it, then by spelling), names left out. */
export function twoRarest(c: HistoryCandidate, df: LexemeCounts): string[] {
  const r: Rarest = { first: undefined, firstDf: 0, second: undefined, secondDf: 0 };
  const names = c.speakerLexemes;
  // By id when the counts are of the candidate's lexicon: no lookup by lexeme.
  const interned = c.lexemes.interned;
  if (df.byId && interned?.lexicon === df.byId.lexicon) {
    const { lexicon, df: byId } = df.byId;
    const { pairs, to } = interned;
    for (let k = interned.from; k < to; k += 2) {
      const lexeme = lexicon.words[pairs[k]!]!;
      if (!names.includes(lexeme)) consider(r, lexeme, byId[pairs[k]!]!);
    }
  } else for (const lexeme of c.lexemes.tf.keys()) if (!names.includes(lexeme)) consider(r, lexeme, df.get(lexeme)!);
  return r.first === undefined ? [] : r.second === undefined ? [r.first] : [r.first, r.second];
}

/** How far down the ranking the packing reaches: stored token counts of 1.5 times the budget. */
const REACH = 1.5;

/** Tokens a turn costs as a line of relevant history: its text and about four for the speaker and line break. */
export const lineCost = (t: TurnRow) => t.token_count + 4;

/** How many of the best-ranked turns are within reach: those before their costs add up past 1.5 times the budget. */
function reachLength<T extends { candidate: { turn: TurnRow } }>(
  ranked: readonly T[],
  budget: number,
  cost: (t: TurnRow) => number,
): number {
  let total = 0;
  for (let i = 0; i < ranked.length; i++) {
    if (total > REACH * budget) return i;
    total += cost(ranked[i]!.candidate.turn);
  }
  return ranked.length;
}

/**
 * The best-ranked turns whose costs (by default as lines: `lineCost`) add up to 1.5 times the budget: more than the
 * planner can use, so the lines (or tool findings) of turns that cannot fit are never rendered, summarised and counted.
 */
export function withinReach<T extends { candidate: { turn: TurnRow } }>(
  ranked: readonly T[],
  budget: number,
  cost: (t: TurnRow) => number = lineCost,
): T[] {
  return ranked.slice(0, reachLength(ranked, budget, cost));
}

/**
 * What relevant history surely counts towards its reach (sections.ts): a conversational turn's line, unless it only
 * made calls (the tool findings may show those instead, and history then skips it); nothing for other turns.
 */
const historyCost = (t: TurnRow) =>
  (t.role === 'user' || t.role === 'assistant') && !(t.tool_calls?.length && t.content.trim() === '') ? lineCost(t) : 0;

/**
 * What the learned ranker weighs for each candidate: its signals (./rank.ts), whether it was a seed, its closeness in
 * meaning (for the candidates with a vector at hand, stored, held or cached, and the best-scored ones without: a query
 * embeds at most `embedTop` texts) and its cost in tokens.
 */
export async function relevantFacts(
  input: RelevantInput,
  counts: LexemeCounts = lexemeCounts(input.candidates),
): Promise<CandidateFacts[]> {
  const signals = rankSignals({
    candidates: input.candidates,
    terms: input.terms,
    totalTurns: input.totalTurns,
    cues: timeCues(input.query),
    weights: input.weights,
    counts,
  });
  // Each candidate's cosine to the query, by its place in `signals`.
  const cosine = new Array<number | undefined>(signals.length).fill(undefined);
  if (signals.length > 0 && input.embedder?.semantic) {
    let known = 0;
    for (let i = 0; i < signals.length; i++)
      if ((cosine[i] = input.known?.similarity(signals[i]!.candidate.sequence)) !== undefined) known++;
    // Nothing to sort or embed when every candidate's vector is at hand (the session's vectors are held).
    const wanted =
      known === signals.length
        ? []
        : firstSorted(
            signals.map((_, i) => i),
            defaults.history.embedTop,
            (a, b) =>
              descending(signals[a]!.score, signals[b]!.score) ||
              signals[b]!.candidate.sequence - signals[a]!.candidate.sequence,
          ).filter((i) => cosine[i] === undefined);
    try {
      const candidates = wanted.map((i) => signals[i]!.candidate as HistoryCandidate);
      const vectors = await vectorsFor(input.embedder, input.query, candidates, input.known?.query);
      wanted.forEach((i, k) => (cosine[i] = dot(vectors.query!, vectors.of(candidates[k]!.id)!)));
    } catch (err) {
      input.logger?.warn('embedding failed; ranking without closeness in meaning', { error: (err as Error).message });
    }
  }
  return signals.map((s, i) => {
    const c = s.candidate as HistoryCandidate;
    return {
      signals: s,
      seed: c.seed,
      meaningSeed: input.meaningSeeds?.has(c.sequence) ?? false,
      cosine: cosine[i],
      tokens: lineCost(c.turn),
    };
  });
}

/**
 * Facts that change: when the query asks how things are now, the candidates of a user's several sessions weigh by how
 * late in time their session's first candidate was written (r: 0 for the earliest session among them, 1 for the
 * latest): a probability is scaled by e^(−k·(1 − r)), so what was said last outranks what it may have replaced. By
 * time, not by the sessions' order: a run of short sessions after a long one leaves it as recent as it is. Candidates
 * of one session stand.
 */
function latestSessionsFirst(facts: readonly CandidateFacts[], p: readonly number[]): number[] {
  const began = new Map<string, number>();
  for (const f of facts) {
    const { session, createdAt } = f.signals.candidate;
    const t = Date.parse(createdAt);
    if (session !== undefined && !Number.isNaN(t) && t < (began.get(session) ?? Infinity)) began.set(session, t);
  }
  if (began.size < 2) return [...p];
  const times = [...began.values()];
  const first = Math.min(...times);
  const span = Math.max(...times) - first;
  if (span <= 0) return [...p];
  return facts.map((f, i) => {
    const t = f.signals.candidate.session === undefined ? undefined : began.get(f.signals.candidate.session);
    const r = t === undefined ? 1 : (t - first) / span;
    return p[i]! * Math.exp(-defaults.history.presentRecency * (1 - r));
  });
}

export async function rankRelevant(input: RelevantInput): Promise<RankedTurn[]> {
  // How many candidates hold each lexeme: the ranking's vocabulary, and the rarity near-duplicates are keyed by.
  const df = lexemeCounts(input.candidates);
  const facts = await relevantFacts(input, df);
  if (facts.length === 0) return [];
  const fitted = matrixProbabilities(ranker.model, featureMatrix(facts));
  const p = asksAboutNow(input.query) ? latestSessionsFirst(facts, fitted) : fitted;
  // Most expected evidence per token first; ties: the newer turn. Positions are sorted, so each ranked turn is made once.
  const value = new Float64Array(facts.length);
  const sequence = new Float64Array(facts.length);
  const order = new Array<number>(facts.length);
  for (let i = 0; i < facts.length; i++) {
    value[i] = p[i]! / facts[i]!.tokens;
    sequence[i] = facts[i]!.signals.candidate.sequence;
    order[i] = i;
  }
  order.sort((a, b) => descending(value[a]!, value[b]!) || sequence[b]! - sequence[a]!);
  const out: RankedTurn[] = order.map((i) => ({
    candidate: facts[i]!.signals.candidate as HistoryCandidate,
    score: p[i]!,
  }));

  // Near-duplicates share their rarest lexemes, so only items sharing one of their two rarest are compared, and only
  // those are embedded (by spelling).
  const rarestOf = new Map<string, string[]>();
  const rarest = (r: RankedTurn) => {
    let keys = rarestOf.get(r.candidate.id);
    if (!keys) rarestOf.set(r.candidate.id, (keys = twoRarest(r.candidate, df)));
    return keys;
  };
  const reach = input.budgetTokens === undefined ? out.length : reachLength(out, input.budgetTokens, historyCost);
  const compared = out.slice(0, Math.min(defaults.history.embedTop, reach));
  const vectors = await vectorsFor(
    spelling,
    undefined,
    comparedOnly(compared, rarest).map((r) => r.candidate),
  );
  const { duplicates } = dropNearDuplicates(
    compared,
    (a, b) => {
      // Lengths far apart cannot be near-duplicates; skip the dot product.
      const la = a.candidate.content.length;
      const lb = b.candidate.content.length;
      if (Math.min(la, lb) < 0.7 * Math.max(la, lb)) return 0;
      return dot(vectors.of(a.candidate.id)!, vectors.of(b.candidate.id)!);
    },
    defaults.history.duplicateCosine,
    { keys: rarest },
  );
  for (const d of duplicates) d.item.duplicateOf = d.of.candidate.id;
  return out;
}
