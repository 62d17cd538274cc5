// In-process signals of the bounded candidate set (ADR 0005): BM25 with the session's IDF, stem-prefix variants, the
// episode, the named speaker, calendar cues and adjacency; the learned ranker (./learned.ts) weighs them.
import { sharedLexicon, type Lexemes, type Lexicon } from './lexemes.js';
import { informativenessOf } from './informative.js';
import { withRoom } from './session-memo.js';
import { matchesCues, type TimeCues } from './temporal.js';
import { asksQuestion } from '../text.js';

export interface Candidate {
  id: string;
  /** Its place in the source searched (a session, or a user's history of many sessions). */
  sequence: number;
  /** Its session, when the source holds several: neighbours and episodes never cross sessions. */
  session?: string;
  /** ISO 8601. */
  createdAt: string;
  content: string;
  lexemes: Lexemes;
  /** Lexemes of the speaker's name (e.g. `carolin`), which the turn's vector also holds. */
  speakerLexemes: readonly string[];
  /** How much it recounts (./informative.ts), when the source keeps it; else worked out from `content`. */
  informativeness?: number | undefined;
}

export interface QueryTerm {
  lexeme: string;
  /** Turns of the session that match the term (may be capped by the retriever). */
  df: number;
}

export interface RankWeights {
  k1: number;
  b: number;
  /** Weight of a stem-prefix variant relative to the exact lexeme. */
  variant: number;
  /** Minimum lexeme length for prefix variants (short stems prefix too many words). */
  variantMinLength: number;
  /** Strength of the episode score: a turn's score is multiplied by 1 + episode × (its episode's share of the best). */
  episode: number;
  /** Extra weight for turns spoken by a participant the query names. */
  speaker: number;
  /** Extra weight for turns written in a period the query names. */
  time: number;
  /** Share of a turn's score its immediate neighbours inherit. */
  neighbour: number;
  /** Share inherited two turns away. */
  neighbour2: number;
  /** Share the turn after a question inherits from the question (its likely answer). */
  answer: number;
  /**
   * A turn that shares nothing with the query but a named participant's name is scaled by 1 + this × its
   * informativeness (./informative.ts): of that person's many turns, the ones that recount something answer.
   */
  informative: number;
}

export const defaultWeights: RankWeights = {
  k1: 1.2,
  b: 0.75,
  variant: 0.7,
  variantMinLength: 4,
  episode: 1,
  speaker: 0.3,
  time: 0.5,
  neighbour: 0.5,
  neighbour2: 0.25,
  answer: 0.9,
  informative: 1,
};

export interface RankInput {
  candidates: readonly Candidate[];
  terms: readonly QueryTerm[];
  /** Turns in the session (the N of IDF). */
  totalTurns: number;
  cues?: TimeCues;
  weights?: Partial<RankWeights>;
  /** How many of the candidates hold each lexeme (`lexemeCounts`), when the caller has it. */
  counts?: LexemeCounts;
}

/** How many of the candidates hold each lexeme, in order of first sight (as a Map built by walking them would be). */
export interface LexemeCounts extends Iterable<[string, number]> {
  keys(): Iterable<string>;
  get(lexeme: string): number | undefined;
  /** The counts by lexeme id, when the candidates share a lexicon. */
  byId?: { lexicon: Lexicon; df: Int32Array };
}

/**
 * How many of the candidates hold each lexeme: their vocabulary, read once per query (ranking, near-duplicates).
 * Counted by id in a typed array when the candidates share a session copy's lexicon.
 */
export function lexemeCounts(candidates: readonly Candidate[]): LexemeCounts {
  const lexicon = sharedLexicon(candidates);
  if (lexicon) {
    const df = new Int32Array(lexicon.words.length);
    const seen: number[] = [];
    for (const c of candidates) {
      const { pairs, from, to } = c.lexemes.interned!;
      for (let k = from; k < to; k += 2) if (df[pairs[k]!]!++ === 0) seen.push(pairs[k]!);
    }
    const keys = () => seen.map((id) => lexicon.words[id]!);
    return {
      keys,
      byId: { lexicon, df },
      get: (lexeme) => {
        const id = lexicon.ids.get(lexeme);
        return id !== undefined && id < df.length && df[id]! > 0 ? df[id] : undefined;
      },
      [Symbol.iterator]: () => seen.map((id): [string, number] => [lexicon.words[id]!, df[id]!])[Symbol.iterator](),
    };
  }
  const counts = new Map<string, number>();
  for (const c of candidates)
    for (const lexeme of c.lexemes.tf.keys()) counts.set(lexeme, (counts.get(lexeme) ?? 0) + 1);
  return counts;
}

/** Episodes group turns by calendar day (UTC): a conversation's sitting, or an agent's working day. */
export const episodeOf = (iso: string) => iso.slice(0, 10);

/** A candidate's episode: the turns of its day in its session. */
const episodeKey = (c: Candidate) =>
  c.session === undefined ? episodeOf(c.createdAt) : `${c.session}\u0000${episodeOf(c.createdAt)}`;

const idf = (n: number, df: number) => Math.log(1 + (Math.max(n, df) - df + 0.5) / (df + 0.5));

/**
 * What the ranking knows of each candidate, in sequence order: the parts of its score and the query-relative facts
 * they come from. The learned ranker (./learned.ts) weighs all of them.
 */
export interface Signals {
  candidate: Candidate;
  /** BM25 of the turn's own text. */
  lexical: number;
  /** `lexical` scaled by its episode, speaker, time cue and informativeness. */
  own: number;
  /** `own`, or the share of a neighbour's `own` it inherits, whichever is larger. */
  score: number;
  /** Its episode's BM25 (names left out) as a share of the best episode's. */
  episode: number;
  /** Spoken by a participant the query names. */
  namedSpeaker: boolean;
  /** Shares nothing with the query but a named participant's name. */
  nameOnly: boolean;
  informativeness: number;
  /** Written in a period the query names. */
  timeCue: boolean;
  /** `own` of the neighbours one and two turns before and after (same episode), 0 where there is none. */
  prev: number;
  next: number;
  prev2: number;
  next2: number;
  /** The turn before it (same episode) is a question: this one may be its answer. */
  answers: boolean;
  question: boolean;
  /** First candidate of its episode. */
  opensEpisode: boolean;
  /** Share of the query's non-name terms it matches, and share of their IDF. */
  termShare: number;
  idfShare: number;
  /** IDF of the rarest non-name term it matches over the rarest term's of the query. */
  rarestIdf: number;
}

/** One query's signals, a column per value (candidates in sequence order); flags are bits (see `Flag`). */
interface SignalColumns {
  lexical: Float64Array;
  own: Float64Array;
  score: Float64Array;
  episode: Float64Array;
  informativeness: Float64Array;
  prev: Float64Array;
  next: Float64Array;
  prev2: Float64Array;
  next2: Float64Array;
  termShare: Float64Array;
  idfShare: Float64Array;
  rarestIdf: Float64Array;
  flags: Uint8Array;
}

const Flag = { namedSpeaker: 1, nameOnly: 2, timeCue: 4, answers: 8, question: 16, opensEpisode: 32 } as const;

/**
 * A candidate's signals, read from its query's columns: one small object per candidate instead of one holding a
 * dozen numbers (each boxed on the heap), which a query made for each of its hundreds of candidates.
 */
class ColumnSignals implements Signals {
  readonly #columns: SignalColumns;
  readonly #i: number;
  constructor(
    readonly candidate: Candidate,
    columns: SignalColumns,
    i: number,
  ) {
    this.#columns = columns;
    this.#i = i;
  }
  get lexical() {
    return this.#columns.lexical[this.#i]!;
  }
  get own() {
    return this.#columns.own[this.#i]!;
  }
  get score() {
    return this.#columns.score[this.#i]!;
  }
  get episode() {
    return this.#columns.episode[this.#i]!;
  }
  get informativeness() {
    return this.#columns.informativeness[this.#i]!;
  }
  get prev() {
    return this.#columns.prev[this.#i]!;
  }
  get next() {
    return this.#columns.next[this.#i]!;
  }
  get prev2() {
    return this.#columns.prev2[this.#i]!;
  }
  get next2() {
    return this.#columns.next2[this.#i]!;
  }
  get termShare() {
    return this.#columns.termShare[this.#i]!;
  }
  get idfShare() {
    return this.#columns.idfShare[this.#i]!;
  }
  get rarestIdf() {
    return this.#columns.rarestIdf[this.#i]!;
  }
  #has(flag: number): boolean {
    return (this.#columns.flags[this.#i]! & flag) !== 0;
  }
  get namedSpeaker() {
    return this.#has(Flag.namedSpeaker);
  }
  get nameOnly() {
    return this.#has(Flag.nameOnly);
  }
  get timeCue() {
    return this.#has(Flag.timeCue);
  }
  get answers() {
    return this.#has(Flag.answers);
  }
  get question() {
    return this.#has(Flag.question);
  }
  get opensEpisode() {
    return this.#has(Flag.opensEpisode);
  }
}

/** A candidate's signals as a plain object of their values (for comparing and inspecting them). */
export function signalValues(s: Signals): Signals {
  const { candidate, lexical, own, score, episode, namedSpeaker, nameOnly, informativeness, timeCue } = s;
  const { prev, next, prev2, next2, answers, question, opensEpisode, termShare, idfShare, rarestIdf } = s;
  return {
    candidate,
    lexical,
    own,
    score,
    episode,
    namedSpeaker,
    nameOnly,
    informativeness,
    timeCue,
    prev,
    next,
    prev2,
    next2,
    answers,
    question,
    opensEpisode,
    termShare,
    idfShare,
    rarestIdf,
  };
}

/** A zeroed table by lexeme id, kept between calls (whoever fills it sets its entries back to 0). */
let byIdScratch = new Int32Array(0);
/** Episodes' pair counts, kept between calls (zeroed for each call's episodes × pairs). */
let episodeScratch = new Float64Array(0);

// The ranking runs as a few stages, each a function of its own: the compiler optimises (and, when new kinds of values
// reach one, re-optimises) each apart, instead of one large function recompiled whole (docs/performance.md).

/** A query term as ranked: its IDF, the lexemes that count for it (itself 1, longer ones it prefixes less), a name. */
interface RankTerm {
  lexeme: string;
  idf: number;
  variants: Map<string, number>;
  speaker: boolean;
}

/** The terms, and every (term, variant) pair once, so a document's count of each is read once. */
interface TermPairs {
  terms: RankTerm[];
  lexeme: string[];
  weight: number[];
  term: number[];
}

/** Each query term matches its own lexeme fully and the candidates' longer lexemes it is a prefix of partly. */
function rankTerms(input: RankInput, w: RankWeights, cands: readonly Candidate[], n: number): TermPairs {
  const speakers = new Set<string>();
  for (const c of cands) for (const l of c.speakerLexemes) speakers.add(l);
  const variants = input.terms.map((t) => new Map<string, number>([[t.lexeme, 1]]));
  const prefixes = input.terms.flatMap((t, k) =>
    !speakers.has(t.lexeme) && t.lexeme.length >= w.variantMinLength ? [{ prefix: t.lexeme, of: variants[k]! }] : [],
  );
  if (prefixes.length > 0) {
    const counts = input.counts ?? lexemeCounts(input.candidates);
    const lexicon = counts.byId?.lexicon;
    for (const { prefix, of } of prefixes) {
      // With a shared lexicon, its words under the prefix that a candidate holds (by binary search); else every lexeme
      // the candidates hold. A variant's order among a term's others changes no score (it takes the best one's count).
      const held = lexicon ? lexicon.withPrefix(prefix).filter((l) => counts.get(l) !== undefined) : counts.keys();
      for (const lexeme of held)
        if (lexeme.length > prefix.length && lexeme.startsWith(prefix)) of.set(lexeme, w.variant);
    }
  }
  const terms = input.terms.map(
    (t, k): RankTerm => ({
      lexeme: t.lexeme,
      idf: idf(n, t.df),
      variants: variants[k]!,
      speaker: speakers.has(t.lexeme),
    }),
  );
  const pairs: TermPairs = { terms, lexeme: [], weight: [], term: [] };
  terms.forEach((t, k) => {
    for (const [lexeme, weight] of t.variants) {
      pairs.lexeme.push(lexeme);
      pairs.weight.push(weight);
      pairs.term.push(k);
    }
  });
  return pairs;
}

/** An episode as one document: where its pair counts start in the shared table, its length and its score. */
interface Episode {
  at: number;
  length: number;
  score: number;
}

/** Each candidate's term frequencies (T per candidate, from T × i) and each episode's count of each pair. */
interface TermCounts {
  frequencies: Float64Array;
  episodeKeys: string[];
  episodes: Map<string, Episode>;
  episodeOfCand: Episode[];
  episodeCount: Float64Array;
}

/**
 * Each pair a candidate holds, read once for its own score, its episode's, its name-only test and its matches (the
 * pairs it lacks count 0 and change neither).
 */
function termCounts(cands: readonly Candidate[], p: TermPairs): TermCounts {
  const pairs = p.lexeme.length;
  const T = p.terms.length;
  const episodeKeys = cands.map(episodeKey);
  const episodes = new Map<string, Episode>();
  const episodeOfCand = cands.map((c, i) => {
    const key = episodeKeys[i]!;
    let e = episodes.get(key);
    if (!e) episodes.set(key, (e = { at: episodes.size * pairs, length: 0, score: 0 }));
    e.length += c.lexemes.length;
    return e;
  });
  const size = episodes.size * pairs;
  const episodeCount = (episodeScratch = withRoom(episodeScratch, 0, size, 0)).fill(0, 0, size);
  const frequencies = new Float64Array(cands.length * T);
  const held = (i: number, j: number, x: number) => {
    const k = i * T + p.term[j]!;
    if (x * p.weight[j]! > frequencies[k]!) frequencies[k] = x * p.weight[j]!;
    episodeCount[episodeOfCand[i]!.at + j]! += x;
  };
  const lexicon = sharedLexicon(cands);
  if (lexicon) {
    // By lexeme id: each id's first pair (+1, 0 for none) and each pair's next pair of the same lexeme (+1).
    const firstPair = (byIdScratch = withRoom(byIdScratch, 0, lexicon.words.length, 0));
    const nextPair = new Int32Array(pairs);
    const ids: number[] = [];
    try {
      for (let j = pairs - 1; j >= 0; j--) {
        const id = lexicon.ids.get(p.lexeme[j]!);
        if (id === undefined || id >= lexicon.words.length) continue;
        if (firstPair[id] === 0) ids.push(id);
        nextPair[j] = firstPair[id]!;
        firstPair[id] = j + 1;
      }
      for (let i = 0; i < cands.length; i++) {
        const { pairs: counts, from, to } = cands[i]!.lexemes.interned!;
        for (let k = from; k < to; k += 2) {
          const x = counts[k + 1]!;
          if (x) for (let j = firstPair[counts[k]!]!; j > 0; j = nextPair[j - 1]!) held(i, j - 1, x);
        }
      }
    } finally {
      for (const id of ids) firstPair[id] = 0;
    }
  } else
    for (let i = 0; i < cands.length; i++) {
      const { tf } = cands[i]!.lexemes;
      for (let j = 0; j < pairs; j++) {
        const x = tf.get(p.lexeme[j]!);
        if (x) held(i, j, x);
      }
    }
  return { frequencies, episodeKeys, episodes, episodeOfCand, episodeCount };
}

/** BM25 from each term's frequency in a document (in `terms` order, from `at`). */
function bm25(
  terms: readonly RankTerm[],
  w: RankWeights,
  frequency: Float64Array,
  at: number,
  length: number,
  avg: number,
  skipSpeakers: boolean,
): number {
  let s = 0;
  for (let k = 0; k < terms.length; k++) {
    const f = frequency[at + k]!;
    const t = terms[k]!;
    if (f > 0 && !(skipSpeakers && t.speaker))
      s += (t.idf * f * (w.k1 + 1)) / (f + w.k1 * (1 - w.b + (w.b * length) / (avg || 1)));
  }
  return s;
}

/**
 * Episode score: the same BM25 over each episode's candidates taken as one document, names left out (every episode
 * has both speakers), as a share of the best episode's; set on the episodes.
 */
function scoreEpisodes(p: TermPairs, c: TermCounts, w: RankWeights): void {
  if (!(w.episode > 0 && c.episodes.size > 1)) return;
  const T = p.terms.length;
  const avg = [...c.episodes.values()].reduce((s, e) => s + e.length, 0) / c.episodes.size;
  let best = 0;
  const f = new Float64Array(T);
  for (const e of c.episodes.values()) {
    f.fill(0);
    // Each term's frequency in the episode: the best variant's count, weighed.
    for (let j = 0; j < p.lexeme.length; j++) {
      const x = c.episodeCount[e.at + j]!;
      const k = p.term[j]!;
      if (x && x * p.weight[j]! > f[k]!) f[k] = x * p.weight[j]!;
    }
    e.score = bm25(p.terms, w, f, 0, e.length, avg, true);
    if (e.score > best) best = e.score;
  }
  if (best > 0) for (const e of c.episodes.values()) e.score /= best;
}

/** What each candidate is, once: how much it recounts, spoken by a named participant, in a named period, a question. */
interface CandidateKinds {
  recounting: Float64Array;
  byNamed: Uint8Array;
  cued: Uint8Array;
  asks: Uint8Array;
}

function candidateKinds(cands: readonly Candidate[], namedSpeakers: ReadonlySet<string>, cues?: TimeCues) {
  const kinds: CandidateKinds = {
    recounting: new Float64Array(cands.length),
    byNamed: new Uint8Array(cands.length),
    cued: new Uint8Array(cands.length),
    asks: new Uint8Array(cands.length),
  };
  for (let i = 0; i < cands.length; i++)
    kinds.recounting[i] = cands[i]!.informativeness ?? informativenessOf(cands[i]!.content);
  for (let i = 0; i < cands.length; i++) {
    const c = cands[i]!;
    if (namedSpeakers.size > 0)
      for (const l of c.speakerLexemes)
        if (namedSpeakers.has(l)) {
          kinds.byNamed[i] = 1;
          break;
        }
    if (cues && matchesCues(c.createdAt, cues)) kinds.cued[i] = 1;
    if (asksQuestion(c.content)) kinds.asks[i] = 1;
  }
  return kinds;
}

/** Adjacency within an episode: candidate j is |j − i| turns from i, in the same episode. */
const adjacent = (cands: readonly Candidate[], keys: readonly string[], i: number, j: number) =>
  j >= 0 &&
  j < cands.length &&
  Math.abs(cands[j]!.sequence - cands[i]!.sequence) === Math.abs(j - i) &&
  keys[j] === keys[i];

/**
 * Neighbours inherit a share of a hit's score; a question's successor inherits more: each candidate's score is the
 * larger of its own and the share it inherits from an adjacent one.
 */
function inheritedScores(
  cands: readonly Candidate[],
  keys: readonly string[],
  own: Float64Array,
  asks: Uint8Array,
  w: RankWeights,
): Float64Array {
  const inherited = (best: number, i: number, j: number, share: number) =>
    adjacent(cands, keys, i, j) ? Math.max(best, share * own[j]!) : best;
  const score = new Float64Array(cands.length);
  for (let i = 0; i < cands.length; i++) {
    let best = own[i]!;
    best = inherited(best, i, i - 1, asks[i - 1] ? Math.max(w.neighbour, w.answer) : w.neighbour);
    best = inherited(best, i, i + 1, w.neighbour);
    best = inherited(best, i, i - 2, w.neighbour2);
    best = inherited(best, i, i + 2, w.neighbour2);
    score[i] = best;
  }
  return score;
}

/** The signals as columns, and one object per candidate reading them. */
function signalsOf(
  cands: readonly Candidate[],
  terms: readonly RankTerm[],
  c: TermCounts,
  kinds: CandidateKinds,
  onlyName: Uint8Array,
  scores: { lexical: Float64Array; own: Float64Array; score: Float64Array },
): Signals[] {
  const T = terms.length;
  const { frequencies, episodeKeys: keys, episodeOfCand } = c;
  const { own } = scores;
  const nonName = terms.filter((t) => !t.speaker);
  const queryIdf = nonName.reduce((s, t) => s + t.idf, 0);
  const maxIdf = Math.max(0, ...nonName.map((t) => t.idf));
  const near = (i: number, j: number) => (adjacent(cands, keys, i, j) ? own[j]! : 0);
  const N = cands.length;
  const columns: SignalColumns = {
    lexical: scores.lexical,
    own,
    score: scores.score,
    episode: new Float64Array(N),
    informativeness: kinds.recounting,
    prev: new Float64Array(N),
    next: new Float64Array(N),
    prev2: new Float64Array(N),
    next2: new Float64Array(N),
    termShare: new Float64Array(N),
    idfShare: new Float64Array(N),
    rarestIdf: new Float64Array(N),
    flags: new Uint8Array(N),
  };
  const out = new Array<Signals>(N);
  for (let i = 0; i < N; i++) {
    // The non-name terms it matches: how many, their IDF summed (in term order) and the largest.
    let matched = 0;
    let matchedIdf = 0;
    let rarest = -Infinity;
    for (let k = 0; k < T; k++) {
      const t = terms[k]!;
      if (t.speaker || !(frequencies[i * T + k]! > 0)) continue;
      matched++;
      matchedIdf += t.idf;
      if (t.idf > rarest) rarest = t.idf;
    }
    columns.episode[i] = episodeOfCand[i]!.score;
    columns.prev[i] = near(i, i - 1);
    columns.next[i] = near(i, i + 1);
    columns.prev2[i] = near(i, i - 2);
    columns.next2[i] = near(i, i + 2);
    columns.termShare[i] = nonName.length ? matched / nonName.length : 0;
    columns.idfShare[i] = queryIdf > 0 ? matchedIdf / queryIdf : 0;
    columns.rarestIdf[i] = maxIdf > 0 && matched ? rarest / maxIdf : 0;
    columns.flags[i] =
      (kinds.byNamed[i] ? Flag.namedSpeaker : 0) |
      (onlyName[i] ? Flag.nameOnly : 0) |
      (kinds.cued[i] ? Flag.timeCue : 0) |
      (adjacent(cands, keys, i, i - 1) && kinds.asks[i - 1] ? Flag.answers : 0) |
      (kinds.asks[i] ? Flag.question : 0) |
      (i === 0 || keys[i - 1] !== keys[i] ? Flag.opensEpisode : 0);
    out[i] = new ColumnSignals(cands[i]!, columns, i);
  }
  return out;
}

export function rankSignals(input: RankInput): Signals[] {
  // The defaults themselves when nothing is overridden: one object shape for every call.
  const w = input.weights ? { ...defaultWeights, ...input.weights } : defaultWeights;
  const cands = [...input.candidates].sort((a, b) => a.sequence - b.sequence);
  if (cands.length === 0) return [];
  const n = Math.max(input.totalTurns, cands.length);
  const pairs = rankTerms(input, w, cands, n);
  const { terms } = pairs;
  const T = terms.length;
  const namedSpeakers = new Set(terms.filter((t) => t.speaker).map((t) => t.lexeme));
  const counts = termCounts(cands, pairs);
  const { frequencies, episodeOfCand } = counts;

  // Flags per candidate in loops over typed arrays: no closure and no list of booleans per query.
  const onlyName = new Uint8Array(cands.length);
  for (let i = 0; i < cands.length; i++) {
    let other = false;
    for (let k = 0; k < T && !other; k++) other = !terms[k]!.speaker && frequencies[i * T + k]! > 0;
    onlyName[i] = other ? 0 : 1;
  }
  const avgLength = cands.reduce((s, c) => s + c.lexemes.length, 0) / cands.length;
  // Scores in typed arrays: the same doubles whatever values a query gives (an array's element kind would vary).
  const lexical = new Float64Array(cands.length);
  for (let i = 0; i < cands.length; i++)
    lexical[i] = bm25(terms, w, frequencies, i * T, cands[i]!.lexemes.length, avgLength, false);
  scoreEpisodes(pairs, counts, w);

  const kinds = candidateKinds(cands, namedSpeakers, input.cues);
  const own = new Float64Array(cands.length);
  for (let i = 0; i < cands.length; i++) {
    let s = lexical[i]!;
    if (s === 0) continue;
    s *= 1 + w.episode * episodeOfCand[i]!.score;
    if (kinds.byNamed[i]) s *= 1 + w.speaker;
    if (kinds.cued[i]) s *= 1 + w.time;
    if (w.informative > 0 && onlyName[i]) s *= 1 + w.informative * kinds.recounting[i]!;
    own[i] = s;
  }
  const score = inheritedScores(cands, counts.episodeKeys, own, kinds.asks, w);
  return signalsOf(cands, terms, counts, kinds, onlyName, { lexical, own, score });
}
