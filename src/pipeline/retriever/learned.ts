// The learned ranker (ADR 0014): a logistic regression over a candidate's signals gives the probability that it is
// evidence; relevant history is packed by probability per token. Weights: ./ranker-model.ts (`npm run eval:train`).
import { firstIndex } from '../sorted.js';
import type { Signals } from './rank.js';
import { featureNames, type FeatureName, type RankerModel } from './features.js';
import { rankerModel } from './ranker-model.js';

export { featureNames, type FeatureName, type RankerModel } from './features.js';

/** The model in use: the fitted one shipped with the product, or another set for a measurement (eval:train). */
export const ranker: { model: RankerModel } = { model: rankerModel };

/** Each feature's place in a row (`featureNames` order). */
const F = Object.fromEntries(featureNames.map((f, j) => [f, j])) as Record<FeatureName, number>;

/** What the ranker sees of one candidate beyond its signals. */
export interface CandidateFacts {
  signals: Signals;
  /** Found as a seed (full-text or by meaning), not only as a seed's neighbour. */
  seed: boolean;
  /** Found by meaning. */
  meaningSeed: boolean;
  /** Cosine to the query, when a semantic embedder gave the turn a vector. */
  cosine: number | undefined;
  /** Tokens the turn costs in the context (text and speaker). */
  tokens: number;
}

/** Values in a row of the feature matrix (`featureNames` order). */
const WIDTH = featureNames.length;

/**
 * Feature vectors of one query's candidates, row i from i × featureNames.length of one array. Scores are taken
 * relative to the query's best candidate and closeness as a z-score and a rank among the candidates, so the weights
 * do not depend on a query's length or on the scale of an embedder's cosines. A feature that cannot be known here (no
 * vector) is NaN: the model reads it as its mean.
 *
 * Across a user's several sessions, scores are taken relative to the best candidate that is not a question (the best
 * of all when no statement scores above 0): a question asked before (in an earlier session, or restating this one)
 * echoes the query's words far better than any turn that answers it, and would shrink every other candidate's score.
 */
export function featureMatrix(facts: readonly CandidateFacts[]): Float64Array {
  let maxLexical = 1e-9;
  let maxOwn = 1e-9;
  let maxScore = 1e-9;
  let statementLexical = 0;
  let statementOwn = 0;
  let statementScore = 0;
  const firstSession = facts[0]?.signals.candidate.session;
  let severalSessions = false;
  let last = 1;
  let cosineCount = 0;
  let cosineSum = 0;
  for (const { signals: s, cosine } of facts) {
    if (s.lexical > maxLexical) maxLexical = s.lexical;
    if (s.own > maxOwn) maxOwn = s.own;
    if (s.score > maxScore) maxScore = s.score;
    if (!s.question) {
      if (s.lexical > statementLexical) statementLexical = s.lexical;
      if (s.own > statementOwn) statementOwn = s.own;
      if (s.score > statementScore) statementScore = s.score;
    }
    if (s.candidate.session !== firstSession) severalSessions = true;
    if (s.candidate.sequence > last) last = s.candidate.sequence;
    if (cosine !== undefined) {
      cosineCount++;
      cosineSum += cosine;
    }
  }
  if (severalSessions) {
    if (statementLexical > 0) maxLexical = statementLexical;
    if (statementOwn > 0) maxOwn = statementOwn;
    if (statementScore > 0) maxScore = statementScore;
  }
  // Ascending once sorted; the sums run in the candidates' order, as over a list of their cosines.
  const sorted = new Float64Array(cosineCount);
  let at = 0;
  for (const { cosine } of facts) if (cosine !== undefined) sorted[at++] = cosine;
  const meanCos = cosineSum / Math.max(1, cosineCount);
  let squares = 0;
  for (let i = 0; i < cosineCount; i++) squares += (sorted[i]! - meanCos) ** 2;
  const sdCos = Math.sqrt(squares / Math.max(1, cosineCount)) + 1e-6;
  sorted.sort();
  // Candidates closer than c: how many cosines are above it.
  const rankOf = (c: number) => cosineCount - firstIndex(cosineCount, (i) => sorted[i]! > c);
  const flag = (b: boolean) => (b ? 1 : 0);
  const m = new Float64Array(facts.length * WIDTH);
  facts.forEach(({ signals: s, seed, meaningSeed, cosine, tokens }, i) => {
    const o = i * WIDTH;
    m[o + F.lexical] = Math.min(1, s.lexical / maxLexical);
    m[o + F.own] = Math.min(1, s.own / maxOwn);
    m[o + F.score] = Math.min(1, s.score / maxScore);
    m[o + F.episode] = s.episode;
    m[o + F.namedSpeaker] = flag(s.namedSpeaker);
    m[o + F.nameOnly] = flag(s.nameOnly);
    m[o + F.informativeness] = s.informativeness;
    m[o + F.timeCue] = flag(s.timeCue);
    m[o + F.prev] = Math.min(1, s.prev / maxOwn);
    m[o + F.next] = Math.min(1, s.next / maxOwn);
    m[o + F.prev2] = Math.min(1, s.prev2 / maxOwn);
    m[o + F.next2] = Math.min(1, s.next2 / maxOwn);
    m[o + F.answers] = flag(s.answers);
    m[o + F.question] = flag(s.question);
    m[o + F.opensEpisode] = flag(s.opensEpisode);
    m[o + F.termShare] = s.termShare;
    m[o + F.rarestIdf] = s.rarestIdf;
    m[o + F.idfShare] = s.idfShare;
    m[o + F.recency] = s.candidate.sequence / last;
    m[o + F.length] = Math.min(1, s.candidate.content.length / 300);
    m[o + F.seed] = flag(seed);
    m[o + F.meaningSeed] = flag(meaningSeed);
    m[o + F.closeness] = cosine === undefined ? NaN : (cosine - meanCos) / sdCos;
    m[o + F.closenessRank] = cosine === undefined ? NaN : 1 / (1 + rankOf(cosine) / 10);
    m[o + F.logTokens] = Math.log1p(tokens);
  });
  return m;
}

/** The feature matrix as one array per candidate (for fitting and inspection). */
export function featureRows(facts: readonly CandidateFacts[]): number[][] {
  const m = featureMatrix(facts);
  return facts.map((_, i) => Array.from(m.subarray(i * WIDTH, (i + 1) * WIDTH)));
}

/** Where each of a model's features sits in a row, worked out once per model. */
const columnsOf = new WeakMap<RankerModel, Int32Array>();
function columns(model: RankerModel): Int32Array {
  let at = columnsOf.get(model);
  if (!at) {
    at = Int32Array.from(model.features, (f) => {
      const j = featureNames.indexOf(f);
      if (j < 0) throw new Error(`the ranker model weighs a feature the product does not compute: ${f}`);
      return j;
    });
    columnsOf.set(model, at);
  }
  return at;
}

/** The model's probability for each row of a feature matrix (featureMatrix). */
export function matrixProbabilities(model: RankerModel, m: Float64Array): number[] {
  const at = columns(model);
  const out = new Array<number>(m.length / WIDTH);
  for (let r = 0; r < out.length; r++) {
    const o = r * WIDTH;
    let z = model.bias;
    for (let i = 0; i < at.length; i++) {
      const x = m[o + at[i]!]!;
      if (!Number.isNaN(x)) z += (model.weights[i]! * (x - model.mean[i]!)) / model.scale[i]!;
    }
    out[r] = 1 / (1 + Math.exp(-z));
  }
  return out;
}

/** The model's probability for each feature row (in `featureNames` order). */
export function probabilities(model: RankerModel, rows: readonly (readonly number[])[]): number[] {
  const m = new Float64Array(rows.length * WIDTH);
  rows.forEach((row, i) => m.set(row, i * WIDTH));
  return matrixProbabilities(model, m);
}
