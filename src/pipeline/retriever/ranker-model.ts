// Written by `npm run eval:train` (scripts/eval/train-ranker.ts); see ADR 0014.
// Fitted on conv-26, conv-30, conv-41, conv-42, conv-43 at budgets 1000, 2000, 4000 with l2 1.
import type { RankerModel } from './features.js';

export const rankerModel: RankerModel = {
  features: ["lexical", "own", "score", "episode", "namedSpeaker", "nameOnly", "informativeness", "timeCue", "prev", "next", "prev2", "next2", "answers", "question", "opensEpisode", "termShare", "rarestIdf", "idfShare", "recency", "length", "seed", "meaningSeed", "closeness", "closenessRank", "logTokens"],
  mean: [0.0856375, 0.0695092, 0.100019, 0.323212, 0.537571, 0.840878, 0.423454, 0.0349087, 0.0639126, 0.0618883, 0.0563665, 0.0531878, 0.212064, 0.240757, 0.0731563, 0.0440554, 0.0872885, 0.0332406, 0.540515, 0.486916, 0.54714, 0.352257, 0, 0.1017, 3.52617],
  scale: [0.147129, 0.124954, 0.133986, 0.291056, 0.498586, 0.365789, 0.31933, 0.183548, 0.124448, 0.122078, 0.122156, 0.117971, 0.40877, 0.427543, 0.260393, 0.117632, 0.217143, 0.0987253, 0.29465, 0.249762, 0.497773, 0.477674, 0.99999, 0.136593, 0.466098],
  weights: [-0.0202877, -0.205641, 0.73033, 0.369554, 1.15371, 0.348015, 0.351161, 0.167315, 0.104199, 0.0010612, 0.097896, 0.0201299, 0.13719, -0.186812, 0.2409, 0.0932809, 0.307201, -0.00285374, -0.190187, -0.392875, 0.0367735, 0.0133538, 0.360232, 0.06566, 0.659888],
  bias: -8.077,
};
