import { describe, expect, it } from 'vitest';
import { ascendingOnce, firstIndex, firstSorted, mergeSorted, mostThatFit } from '../../src/pipeline/sorted.js';

describe('firstIndex', () => {
  it('finds the first index where a monotone condition holds', () => {
    const xs = [1, 3, 3, 5, 8];
    expect(firstIndex(xs.length, (i) => xs[i]! >= 3)).toBe(1);
    expect(firstIndex(xs.length, (i) => xs[i]! > 3)).toBe(3);
    expect(firstIndex(xs.length, (i) => xs[i]! >= 0)).toBe(0);
    expect(firstIndex(xs.length, (i) => xs[i]! > 8)).toBe(xs.length);
    expect(firstIndex(0, () => true)).toBe(0);
  });

  it('agrees with a linear scan on every cut of a longer list', () => {
    const xs = Array.from({ length: 101 }, (_, i) => Math.floor(i / 3));
    for (let v = -1; v <= 35; v++) {
      const scanned = xs.findIndex((x) => x >= v);
      expect(firstIndex(xs.length, (i) => xs[i]! >= v)).toBe(scanned === -1 ? xs.length : scanned);
    }
  });
});

describe('mostThatFit', () => {
  it('finds the largest count that fits, never asking about 0', () => {
    // Cumulative costs of taking the first n items: what fits a budget is the longest prefix within it.
    const cost = [0, 2, 5, 5, 9, 14];
    for (let budget = 0; budget <= 15; budget++) {
      const asked: number[] = [];
      const n = mostThatFit(cost.length - 1, (k) => (asked.push(k), cost[k]! <= budget));
      expect(n).toBe(cost.findLastIndex((c) => c <= budget));
      expect(asked).not.toContain(0);
    }
    expect(mostThatFit(0, () => true)).toBe(0);
  });
});

describe('mergeSorted', () => {
  it('merges two sorted lists as sorting them together would', () => {
    const words = ['potteri', 'pot', 'Pot', 'class', 'classroom', 'é', 'z', '', 'ab', 'a', '東京', '😀', 'potter'];
    for (let cut = 0; cut <= words.length; cut++) {
      const a = words.slice(0, cut).sort();
      const b = words.slice(cut).sort();
      expect(mergeSorted(a, b)).toEqual([...words].sort());
    }
    expect(mergeSorted([], [])).toEqual([]);
  });
});

describe('firstSorted', () => {
  it('takes the first k of a stable sort, equal items in their input order', () => {
    // Scores with many ties, and a tag that shows which of the equal items came first.
    const items = Array.from({ length: 300 }, (_, i) => ({ score: (i * 37) % 11, tag: i }));
    const byScore = (a: { score: number }, b: { score: number }) => b.score - a.score;
    for (const k of [0, 1, 5, 27, 28, 100, 299, 300, 400]) {
      expect(firstSorted(items, k, byScore)).toEqual([...items].sort(byScore).slice(0, k));
    }
  });

  it('orders by a tie-break as a full sort does, from any input order', () => {
    const xs = Array.from({ length: 200 }, (_, i) => (i * 7919) % 200);
    const prior = xs.map((x) => x % 13);
    const compare = (a: number, b: number) => prior[b]! - prior[a]! || b - a;
    expect(firstSorted(xs, 20, compare)).toEqual([...xs].sort(compare).slice(0, 20));
    expect(firstSorted([], 3, compare)).toEqual([]);
    // A typed array's numbers, as the same numbers in a list.
    expect(firstSorted(Int32Array.from(xs), 20, compare)).toEqual([...xs].sort(compare).slice(0, 20));
  });
});

describe('ascendingOnce', () => {
  it('gives the numbers once each, ascending, without copying a list that already is', () => {
    const sorted = [1, 4, 9, 10];
    expect(ascendingOnce(sorted)).toBe(sorted);
    expect(ascendingOnce([])).toEqual([]);
    for (let seed = 1; seed <= 300; seed++) {
      const xs = Array.from({ length: seed % 17 }, (_, i) => ((i + 1) * seed * 7919) % 23);
      expect(ascendingOnce(xs)).toEqual([...new Set(xs)].sort((a, b) => a - b));
    }
    // Repeats are not ascending: the copy drops them.
    expect(ascendingOnce([2, 2, 3])).toEqual([2, 3]);
  });
});
