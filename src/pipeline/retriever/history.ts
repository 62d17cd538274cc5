// Relevant-history candidates: the query's lexemes (./query-lexemes.ts), each term's newest matches, the seeds
// with the highest summed IDF, and the turns around them.
import { defaults } from '../../config/tuning.js';
import type { Store } from '../../db/store.js';
import { ascendingOnce, descending, firstSorted } from '../sorted.js';
import type { QueryTerm } from './rank.js';
import { queryLexemes } from './query-lexemes.js';
import { withRoom } from './session-memo.js';
import { positionOf, type HistoryCandidates, type TimeRange, type TurnSource } from './types.js';

export interface HistoryOptions {
  range?: TimeRange | undefined;
  /** Turns in the session: the N of the IDF used to pick seeds. */
  totalTurns: number;
  maxTerms?: number;
  /** Matches read per term (newest first); also the cap on a term's document frequency. */
  perTerm?: number;
  /** Hits kept by summed IDF before neighbours are added. */
  seeds?: number;
  /** Neighbours fetched on each side of a seed. */
  radius?: number;
  /** Lexemes at least this long also match longer lexemes they prefix. */
  prefixMin?: number;
  /**
   * Seeds found another way (by meaning), added after the lexical ones with one neighbour on each side; awaited only
   * once the lexical matches are read, so the two searches overlap.
   */
  extraSeeds?: readonly number[] | Promise<readonly number[]>;
}

/** Summed IDF by sequence, kept between calls: zero but where a call is filling it (synchronously). */
let priorScratch = new Float64Array(0);
/** The sequences matched, in order of first match: the first `matched` entries of a call's. */
let matchedScratch = new Int32Array(0);

/**
 * The matches with the highest summed IDF over the terms they contain (added in term order), best first; ties: the
 * newer turn.
 */
function bestSeeds(matches: readonly (readonly number[])[], idfOf: readonly number[], limit: number): number[] {
  let top = 0;
  let total = 0;
  for (let ord = 0; ord < matches.length; ord++) {
    const sequences = matches[ord]!;
    total += sequences.length;
    for (let i = 0; i < sequences.length; i++) if (sequences[i]! > top) top = sequences[i]!;
  }
  const prior = (priorScratch = withRoom(priorScratch, 0, top + 1, 0));
  const matched = (matchedScratch = withRoom(matchedScratch, 0, total, 1_024));
  let count = 0;
  try {
    for (let ord = 0; ord < matches.length; ord++) {
      const sequences = matches[ord]!;
      for (let i = 0; i < sequences.length; i++) {
        const sequence = sequences[i]!;
        // An IDF is always above 0, so 0 means not seen yet.
        if (prior[sequence] === 0) matched[count++] = sequence;
        prior[sequence]! += idfOf[ord]!;
      }
    }
    return firstSorted(matched.subarray(0, count), limit, (a, b) => descending(prior[a]!, prior[b]!) || b - a);
  } finally {
    for (let i = 0; i < count; i++) prior[matched[i]!] = 0;
  }
}

/**
 * The query's lexemes, then each term's newest matches, capped so a common word costs no more than a rare one. The
 * seeds are chosen here: the matches with the highest summed IDF over the terms they contain. Last, the seeds and
 * the turns around them are read.
 */
export async function historyCandidates(
  source: Pick<TurnSource, 'matches' | 'rows'>,
  store: Store,
  query: string,
  opts: HistoryOptions,
): Promise<HistoryCandidates> {
  const maxTerms = opts.maxTerms ?? defaults.history.maxQueryTerms;
  const perTerm = opts.perTerm ?? defaults.history.matchesPerTerm;
  const seedLimit = opts.seeds ?? defaults.history.seedsMax;
  const radius = opts.radius ?? defaults.history.neighbourRadius;
  const prefixMin = opts.prefixMin ?? defaults.history.prefixMinLength;

  const lexemes = (await queryLexemes(store, query, maxTerms)).map((lexeme) => ({
    lexeme,
    prefix: [...lexeme].length >= prefixMin,
  }));
  const matches = await source.matches(lexemes, perTerm, opts.range);
  const terms: QueryTerm[] = lexemes.map((l, i) => ({ lexeme: l.lexeme, df: matches[i]?.length ?? 0 }));
  const n = Math.max(opts.totalTurns, 1);
  const idfOf = terms.map((t) => Math.log(1 + (Math.max(n, t.df) - t.df + 0.5) / (t.df + 0.5)));
  const seeds = bestSeeds(matches, idfOf, seedLimit);
  const extra = await (opts.extraSeeds ?? []);
  if (seeds.length === 0 && extra.length === 0) return { terms, candidates: [] };
  const seedSet = new Set(seeds);
  const wanted: number[] = [];
  // The full radius around the better half of the seeds, one turn around the rest: fewer rows, same reach where
  // it matters.
  seeds.forEach((s, i) => {
    const r = i < seeds.length / 2 ? radius : Math.min(radius, 1);
    for (let d = -r; d <= r; d++) if (s + d > 0) wanted.push(s + d);
  });
  for (const s of extra) {
    seedSet.add(s);
    for (let d = -1; d <= 1; d++) if (s + d > 0) wanted.push(s + d);
  }

  const rows = await source.rows(ascendingOnce(wanted), opts.range);
  return {
    terms,
    candidates: rows.map(({ turn, lexemes, speakerLexemes, informativeness }) => ({
      id: turn.id,
      sequence: positionOf(turn),
      // Always present, so every candidate has one shape (undefined: the source is one session).
      session: turn.session_id,
      createdAt: turn.created_at,
      content: turn.content,
      lexemes,
      speakerLexemes,
      informativeness,
      seed: seedSet.has(positionOf(turn)),
      turn,
    })),
  };
}

/** Candidate seeds in proportion to what the budget can show, so small budgets read few rows. */
export function seedsFor(budget: number): number {
  const { seedsMin, seedsMax, tokensPerSeed } = defaults.history;
  return Math.min(seedsMax, Math.max(seedsMin, Math.ceil(budget / tokensPerSeed)));
}
