import { describe, expect, it } from 'vitest';
import { fitLogistic, solveSpd, standardise } from '../../scripts/eval/logistic.js';

/** A deterministic generator (mulberry32), so the synthetic data is the same on every run. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('logistic regression', () => {
  it('solves a symmetric positive definite system', () => {
    const a = [
      [4, 1, 0],
      [1, 3, 1],
      [0, 1, 2],
    ];
    const x = solveSpd(a, [1, 2, 3]);
    for (let i = 0; i < 3; i++) expect(a[i]!.reduce((s, v, j) => s + v * x[j]!, 0)).toBeCloseTo([1, 2, 3][i]!, 10);
    expect(() =>
      solveSpd(
        [
          [1, 2],
          [2, 1],
        ],
        [1, 1],
      ),
    ).toThrow(/positive definite/);
  });

  it('standardises columns, leaving NaN out', () => {
    const { mean, scale } = standardise(
      [
        [1, NaN],
        [3, 5],
        [5, 5],
      ],
      2,
    );
    expect(mean).toEqual([3, 5]);
    expect(scale[0]).toBeCloseTo(Math.sqrt(8 / 3));
    expect(scale[1]).toBe(1); // no spread
  });

  it('recovers the weights that generated the labels', () => {
    const next = random(7);
    const truth = { weights: [1.5, -2, 0], bias: -0.5 };
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const x = [next() * 2 - 1, next() * 2 - 1, next() * 2 - 1];
      const z = truth.bias + x.reduce((s, v, j) => s + v * truth.weights[j]!, 0);
      rows.push(x);
      labels.push(next() < 1 / (1 + Math.exp(-z)) ? 1 : 0);
    }
    const fit = fitLogistic(rows, labels, { l2: 1 });
    expect(fit.iterations).toBeLessThan(20);
    fit.weights.forEach((w, j) => expect(Math.abs(w - truth.weights[j]!)).toBeLessThan(0.15));
    expect(Math.abs(fit.bias - truth.bias)).toBeLessThan(0.1);
  });

  it('shrinks the weights as the penalty grows, and reads NaN as the mean', () => {
    const rows = [[1], [2], [3], [4], [NaN]];
    const labels = [0, 0, 1, 1, 1];
    const loose = fitLogistic(rows, labels, { l2: 0.01 });
    const tight = fitLogistic(rows, labels, { l2: 100 });
    expect(Math.abs(tight.weights[0]!)).toBeLessThan(Math.abs(loose.weights[0]!));
    expect(loose.weights[0]).toBeGreaterThan(0);
  });
});
