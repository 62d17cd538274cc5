// The learned ranker (ADR 0014): a logistic regression over a candidate's signals gives the probability that it is
// evidence; relevant history is packed by probability per token. Weights: ./ranker-model.ts (`npm run eval:train`).
import { defaults } from '../../config/tuning.js';
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

/**
 * Feature vectors of one query's candidates. Scores are taken relative to the query's best candidate and closeness
 * as a z-score and a rank among the candidates, so the weights do not depend on a query's length or on the scale of
 * an embedder's cosines. A feature that cannot be known here (no vector) is NaN: the model reads it as its mean.
 */
export function featureRows(facts: readonly CandidateFacts[]): number[][] {
  const max = scaleOf(facts);
  const maxLexical = max((s) => s.lexical);
  const maxOwn = max((s) => s.own);
  const maxScore = max((s) => s.score);
  const last = Math.max(1, ...facts.map((x) => x.signals.candidate.sequence));
  const cosines = facts.map((x) => x.cosine).filter((c): c is number => c !== undefined);
  const meanCos = cosines.reduce((a, b) => a + b, 0) / Math.max(1, cosines.length);
  const sdCos = Math.sqrt(cosines.reduce((a, c) => a + (c - meanCos) ** 2, 0) / Math.max(1, cosines.length)) + 1e-6;
  const sorted = [...cosines].sort((a, b) => b - a);
  // Candidates closer than c: the first index (closest first) whose cosine is not above it.
  const rankOf = (c: number) => firstIndex(sorted.length, (i) => sorted[i]! <= c);
  const flag = (b: boolean) => (b ? 1 : 0);
  return facts.map(({ signals: s, seed, meaningSeed, cosine, tokens }) => {
    const row = new Array<number>(featureNames.length);
    row[F.lexical] = Math.min(1, s.lexical / maxLexical);
    row[F.own] = Math.min(1, s.own / maxOwn);
    row[F.score] = Math.min(1, s.score / maxScore);
    row[F.episode] = s.episode;
    row[F.namedSpeaker] = flag(s.namedSpeaker);
    row[F.nameOnly] = flag(s.nameOnly);
    row[F.informativeness] = s.informativeness;
    row[F.timeCue] = flag(s.timeCue);
    row[F.prev] = Math.min(1, s.neighbours.prev / maxOwn);
    row[F.next] = Math.min(1, s.neighbours.next / maxOwn);
    row[F.prev2] = Math.min(1, s.neighbours.prev2 / maxOwn);
    row[F.next2] = Math.min(1, s.neighbours.next2 / maxOwn);
    row[F.answers] = flag(s.answers);
    row[F.question] = flag(s.question);
    row[F.opensEpisode] = flag(s.opensEpisode);
    row[F.termShare] = s.termShare;
    row[F.rarestIdf] = s.rarestIdf;
    row[F.idfShare] = s.idfShare;
    row[F.recency] = s.candidate.sequence / last;
    row[F.length] = Math.min(1, s.candidate.content.length / 300);
    row[F.seed] = flag(seed);
    row[F.meaningSeed] = flag(meaningSeed);
    row[F.closeness] = cosine === undefined ? NaN : (cosine - meanCos) / sdCos;
    row[F.closenessRank] = cosine === undefined ? NaN : 1 / (1 + rankOf(cosine) / 10);
    row[F.logTokens] = Math.log1p(tokens);
    return row;
  });
}

/**
 * What a candidate's score is taken relative to: the query's best candidate's; across a user's several sessions the
 * k-th best (`relativeToAcrossSessions`), since a short session that restates the question (asked again, or asked
 * before with nothing else said) matches it far better than any turn that answers it, and would shrink every other
 * candidate's relative score. The best stands when fewer than k candidates score above 0.
 */
function scaleOf(facts: readonly CandidateFacts[]) {
  const sessions = new Set(facts.map((x) => x.signals.candidate.session));
  const k = sessions.size > 1 ? defaults.history.relativeToAcrossSessions : 1;
  return (f: (s: Signals) => number) => {
    const values = facts.map((x) => f(x.signals));
    const best = Math.max(1e-9, ...values);
    if (k <= 1 || values.length < k) return best;
    const kth = Float64Array.from(values).sort()[values.length - k]!;
    return kth > 0 ? kth : best;
  };
}

/** The model's probability for each feature row (in `featureNames` order). */
export function probabilities(model: RankerModel, rows: readonly (readonly number[])[]): number[] {
  const at = model.features.map((f) => {
    const j = featureNames.indexOf(f);
    if (j < 0) throw new Error(`the ranker model weighs a feature the product does not compute: ${f}`);
    return j;
  });
  return rows.map((row) => {
    let z = model.bias;
    for (let i = 0; i < at.length; i++) {
      const x = row[at[i]!]!;
      if (!Number.isNaN(x)) z += (model.weights[i]! * (x - model.mean[i]!)) / model.scale[i]!;
    }
    return 1 / (1 + Math.exp(-z));
  });
}
