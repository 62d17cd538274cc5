import { describe, expect, it } from 'vitest';
import {
  featureNames,
  featureRows,
  probabilities,
  type CandidateFacts,
  type RankerModel,
} from '../../src/pipeline/retriever/learned.js';
import { rankSignals } from '../../src/pipeline/retriever/rank.js';
import { rankerModel } from '../../src/pipeline/retriever/ranker-model.js';
import { candidate as turn } from '../fixtures/candidates.js';

const signals = rankSignals({
  candidates: [
    turn(1, 'ana', 'weather nice'),
    turn(2, 'bo', 'paint', { content: 'What did you paint?' }),
    turn(3, 'ana', 'sunset lake', { content: 'A sunset over the lake.' }),
    turn(9, 'ana', 'paint paint sunset', { content: 'I painted a sunset last week, it took me two days of work.' }),
  ],
  terms: [
    { lexeme: 'paint', df: 2 },
    { lexeme: 'ana', df: 3 },
  ],
  totalTurns: 20,
});
const facts = (cosines: (number | undefined)[]): CandidateFacts[] =>
  signals.map((s, i) => ({ signals: s, seed: i !== 2, meaningSeed: false, cosine: cosines[i], tokens: 10 + i }));
const column = (rows: number[][], name: (typeof featureNames)[number]) =>
  rows.map((r) => r[featureNames.indexOf(name)]!);

describe('learned ranker features', () => {
  it('scales scores to the query’s best candidate and reads the neighbours’ own scores', () => {
    const rows = featureRows(facts([0.1, 0.2, 0.3, 0.4]));
    expect(Math.max(...column(rows, 'score'))).toBeCloseTo(1);
    expect(Math.max(...column(rows, 'lexical'))).toBeCloseTo(1);
    // The answer after the question inherits from it; it matches no non-name term itself.
    expect(column(rows, 'prev')[2]).toBeGreaterThan(0);
    expect(column(rows, 'answers')).toEqual([0, 0, 1, 0]);
    expect(column(rows, 'termShare')).toEqual([0, 1, 0, 1]);
    expect(column(rows, 'nameOnly')[2]).toBe(1);
    expect(column(rows, 'seed')).toEqual([1, 1, 0, 1]);
    expect(column(rows, 'logTokens')[0]).toBeCloseTo(Math.log(11));
  });

  it('fills every feature of every row, in featureNames order', () => {
    for (const row of featureRows(facts([0.1, undefined, 0.3, 0.5]))) {
      expect(row).toHaveLength(featureNames.length);
      for (let j = 0; j < featureNames.length; j++) expect(typeof row[j]).toBe('number');
    }
    const rows = featureRows(facts([0.1, 0.2, 0.3, 0.4]));
    expect(column(rows, 'recency')).toEqual([1 / 9, 2 / 9, 3 / 9, 1]);
    expect(column(rows, 'question')).toEqual([0, 1, 0, 0]);
  });

  it('across several sessions takes scores relative to the best statement, so a restated question does not shrink the rest', () => {
    // One short question holds the query's word five times; the statements hold it fewer times, or in longer turns.
    const turns = [
      turn(1, 'ana', 'paint paint paint lake hills'),
      turn(2, 'ana', 'paint paint lake hills boats'),
      turn(3, 'ana', 'paint lake hills'),
      turn(4, 'ana', 'paint lake hills boats night evening'),
      turn(5, 'ana', 'paint lake hills boats night evening sunset dusk stars'),
      turn(6, 'bo', 'paint paint paint paint paint', { content: 'paint paint paint paint paint?' }),
    ];
    const terms = [{ lexeme: 'paint', df: 6 }];
    const rowsOf = (candidates: typeof turns) =>
      featureRows(
        rankSignals({ candidates, terms, totalTurns: 20 }).map((s) => ({
          signals: s,
          seed: true,
          meaningSeed: false,
          cosine: undefined,
          tokens: 10,
        })),
      );
    const alone = column(rowsOf(turns), 'lexical');
    const apart = column(rowsOf(turns.map((t, i) => ({ ...t, session: `s${i}` }))), 'lexical');
    // One session: relative to the best (the restating question), as the model was fitted.
    expect(alone[5]).toBeCloseTo(1);
    expect(alone[0]).toBeLessThan(0.9);
    // Several sessions: relative to the best statement (turn 1); the question is capped at 1.
    expect(apart[0]).toBe(1);
    expect(apart[5]).toBe(1);
    for (const i of [1, 2, 3, 4]) {
      expect(apart[i]).toBeCloseTo(alone[i]! / alone[0]!, 10);
      expect(apart[i]).toBeGreaterThan(alone[i]!);
    }
    // A statement that restates the query stays the reference.
    const stated = turns.map((t, i) => ({ ...t, session: `s${i}`, content: t.content.replace('?', '.') }));
    expect(column(rowsOf(stated), 'lexical').slice(0, 5)).toEqual(alone.slice(0, 5).map((x) => expect.closeTo(x, 10)));
  });

  it('takes closeness as a z-score and a rank among the candidates, NaN where a turn has no vector', () => {
    const rows = featureRows(facts([0.1, undefined, 0.3, 0.5]));
    const z = column(rows, 'closeness');
    expect(z[1]).toBeNaN();
    expect(z[3]).toBeGreaterThan(z[2]!);
    expect(z[0]! + z[2]! + z[3]!).toBeCloseTo(0, 5);
    // Doubling every cosine (another embedder's scale) changes neither.
    const doubled = featureRows(facts([0.2, undefined, 0.6, 1.0]));
    expect(column(doubled, 'closeness')[3]).toBeCloseTo(z[3]!, 4);
    expect(column(rows, 'closenessRank')).toEqual([1 / 1.2, NaN, 1 / 1.1, 1]);
  });
});

describe('learned ranker probabilities', () => {
  const model: RankerModel = {
    features: ['score', 'closeness'],
    mean: [0.5, 0],
    scale: [0.5, 1],
    weights: [2, 1],
    bias: -1,
  };
  const row = (score: number, closeness: number) =>
    featureNames.map((f) => (f === 'score' ? score : f === 'closeness' ? closeness : 7));

  it('weighs only the model’s features, standardised', () => {
    const [p] = probabilities(model, [row(1, 0.5)]);
    expect(p).toBeCloseTo(1 / (1 + Math.exp(-(-1 + 2 * 1 + 0.5))), 10);
  });

  it('reads a missing feature as its mean and rises with a positively weighed one', () => {
    const [missing, atMean, higher] = probabilities(model, [row(0.5, NaN), row(0.5, 0), row(0.9, 0)]);
    expect(missing).toBeCloseTo(atMean!, 12);
    expect(higher).toBeGreaterThan(atMean!);
  });

  it('refuses a model that weighs a feature the product does not compute', () => {
    const stale = { ...model, features: ['score', 'retired'] } as unknown as RankerModel;
    expect(() => probabilities(stale, [row(1, 0)])).toThrow(/does not compute: retired/);
  });

  it('ships a fitted model over the features the product computes', () => {
    expect(rankerModel.features.length).toBeGreaterThan(10);
    for (const f of rankerModel.features) expect(featureNames).toContain(f);
    for (const list of [rankerModel.mean, rankerModel.scale, rankerModel.weights])
      expect(list).toHaveLength(rankerModel.features.length);
    expect(rankerModel.scale.every((s) => s > 0)).toBe(true);
    // Evidence is rare: the intercept puts a typical candidate's probability well below one half.
    expect(probabilities(rankerModel, [rankerModel.mean as number[]])[0]).toBeLessThan(0.05);
  });
});
