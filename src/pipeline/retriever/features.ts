// The learned ranker's features (learned.ts computes them) and the shape of a fitted model (ranker-model.ts holds the
// shipped one); apart from learned.ts so the fitted model's module can name its type without an import cycle.

export const featureNames = [
  'lexical',
  'own',
  'score',
  'episode',
  'namedSpeaker',
  'nameOnly',
  'informativeness',
  'timeCue',
  'prev',
  'next',
  'prev2',
  'next2',
  'answers',
  'question',
  'opensEpisode',
  'termShare',
  'rarestIdf',
  'idfShare',
  'recency',
  'length',
  'seed',
  'meaningSeed',
  'closeness',
  'closenessRank',
  'logTokens',
] as const;

export type FeatureName = (typeof featureNames)[number];

/** A fitted model: features are standardised with `mean` and `scale`, then weighed. */
export interface RankerModel {
  features: readonly FeatureName[];
  mean: readonly number[];
  scale: readonly number[];
  weights: readonly number[];
  bias: number;
}
