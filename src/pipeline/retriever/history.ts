// Relevant-history candidates: the query's lexemes (remembered per process), each term's newest matches, the seeds
// with the highest summed IDF, and the turns around them.
import { sql, type SQL } from 'drizzle-orm';
import { defaults } from '../../config/tuning.js';
import { readRows, type Store } from '../../db/store.js';
import { firstSorted } from '../sorted.js';
import type { QueryTerm } from './rank.js';
import { scanTsvector } from './lexemes.js';
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

const LEXEME_MEMO_MAX = 2_000;
const lexemeMemo = new Map<string, string[]>();

/**
 * The `maxTerms` lexemes of a tsvector's text form (`'lexeme':1,5 'other':3`) that weigh most: the most repeated
 * first, then the latest (by their last position); lexemes holding a backslash left out.
 */
export function weighedFromText(text: string, maxTerms: number): string[] {
  const found: { lexeme: string; weight: number }[] = [];
  scanTsvector(text, (lexeme, count, last, backslash) => {
    if (!backslash) found.push({ lexeme, weight: count * 100_000 + last });
  });
  return found
    .sort((a, b) => b.weight - a.weight || (a.lexeme < b.lexeme ? -1 : a.lexeme > b.lexeme ? 1 : 0))
    .slice(0, maxTerms)
    .map((x) => x.lexeme);
}

/**
 * The query's vector (`to_tsvector('english', …)` as text) as a column of another statement, so a request can read
 * it in a round trip it makes anyway; `rememberLexemes` then weighs it and keeps the lexemes for queryLexemes.
 */
export const queryLexemesColumn = (query: string): SQL => sql`to_tsvector('english', ${query})::text`;

/** Whether queryLexemes would answer from memory, without a statement. */
export const lexemesKnown = (query: string, maxTerms: number = defaults.history.maxQueryTerms): boolean =>
  lexemeMemo.has(`${maxTerms}\u0000${query}`);

/** Keeps a query's lexemes, weighed from its vector's text (read by queryLexemesColumn), for queryLexemes. */
export function rememberLexemes(
  query: string,
  vector: string,
  maxTerms: number = defaults.history.maxQueryTerms,
): string[] {
  const lexemes = weighedFromText(vector, maxTerms);
  if (lexemeMemo.size >= LEXEME_MEMO_MAX) lexemeMemo.delete(lexemeMemo.keys().next().value!);
  lexemeMemo.set(`${maxTerms}\u0000${query}`, lexemes);
  return lexemes;
}

/**
 * The query's lexemes as the database stems them (the `english` configuration, as in the turns' vectors): the most
 * repeated first, then the latest, at most `maxTerms`. A pure function of the text, so it is remembered per process.
 */
export async function queryLexemes(store: Store, query: string, maxTerms: number): Promise<string[]> {
  const known = lexemeMemo.get(`${maxTerms}\u0000${query}`);
  if (known) return known;
  // Reads no table: on the embedded database, session rows remembered before it stay current. The vector's text is
  // weighed here rather than in SQL (unnesting and sorting in the statement cost the embedded database twice as much).
  const rows = await readRows<{ v: string }>(store, sql`SELECT ${queryLexemesColumn(query)} AS v`);
  return rememberLexemes(query, rows[0]?.v ?? '', maxTerms);
}

/** Summed IDF by sequence, kept between calls: zero but where a call is filling it (synchronously). */
let priorScratch = new Float64Array(0);

/**
 * The matches with the highest summed IDF over the terms they contain (added in term order), best first; ties: the
 * newer turn.
 */
function bestSeeds(matches: readonly (readonly number[])[], idfOf: readonly number[], limit: number): number[] {
  let top = 0;
  for (const sequences of matches) for (const s of sequences) if (s > top) top = s;
  const prior = (priorScratch = withRoom(priorScratch, 0, top + 1, 0));
  const matched: number[] = [];
  try {
    matches.forEach((sequences, ord) => {
      for (const sequence of sequences) {
        // An IDF is always above 0, so 0 means not seen yet.
        if (prior[sequence] === 0) matched.push(sequence);
        prior[sequence]! += idfOf[ord]!;
      }
    });
    return firstSorted(matched, limit, (a, b) => prior[b]! - prior[a]! || b - a);
  } finally {
    for (const sequence of matched) prior[sequence] = 0;
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
  const wanted = new Set<number>();
  // The full radius around the better half of the seeds, one turn around the rest: fewer rows, same reach where
  // it matters.
  seeds.forEach((s, i) => {
    const r = i < seeds.length / 2 ? radius : Math.min(radius, 1);
    for (let d = -r; d <= r; d++) if (s + d > 0) wanted.add(s + d);
  });
  for (const s of extra) {
    seedSet.add(s);
    for (let d = -1; d <= 1; d++) if (s + d > 0) wanted.add(s + d);
  }

  const rows = await source.rows(
    [...wanted].sort((a, b) => a - b),
    opts.range,
  );
  return {
    terms,
    candidates: rows.map(({ turn, lexemes, speakerLexemes }) => ({
      id: turn.id,
      sequence: positionOf(turn),
      // Always present, so every candidate has one shape (undefined: the source is one session).
      session: turn.session_id,
      createdAt: turn.created_at,
      content: turn.content,
      lexemes,
      speakerLexemes,
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
