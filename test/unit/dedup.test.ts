import { describe, expect, it } from 'vitest';
import { hashedNgramEmbedder, dot } from '../../src/embedder.js';
import { cosine, dropNearDuplicates, jaccard } from '../../src/pipeline/retriever/dedup.js';

describe('near-duplicate removal', () => {
  it('drops an item nearly repeating a better-ranked one and keeps the order', () => {
    const words = (s: string) => new Set(s.split(' '));
    const ranked = [
      'the flight leaves at nine',
      'flight leaves at nine the',
      'hotel is booked',
      'the flight leaves at ten',
    ];
    const r = dropNearDuplicates(ranked, (a, b) => jaccard(words(a), words(b)), 0.9);
    expect(r.kept).toEqual(['the flight leaves at nine', 'hotel is booked', 'the flight leaves at ten']);
    expect(r.duplicates).toEqual([{ item: 'flight leaves at nine the', of: 'the flight leaves at nine' }]);
  });

  it('compares only items sharing a key when keys are given', () => {
    let comparisons = 0;
    const items = Array.from({ length: 50 }, (_, i) => `item ${i}`);
    dropNearDuplicates(items, () => (comparisons++, 0), 0.9, { keys: (s) => [s] });
    expect(comparisons).toBe(0);
    const same = dropNearDuplicates(['a', 'a'], () => 1, 0.9, { keys: () => ['k'] });
    expect(same.kept).toEqual(['a']);
  });

  it('compares an item once with an earlier one that shares several of its keys', () => {
    const pairs: string[] = [];
    const keys = (s: string) => (s.startsWith('x') ? ['k1', 'k2'] : ['k1']);
    const r = dropNearDuplicates(
      ['a', 'b', 'x1', 'x2'],
      (a, b) => (pairs.push(`${a}-${b}`), a[0] === b[0] ? 1 : 0),
      0.9,
      { keys },
    );
    // x2 shares k1 and k2 with x1: compared once, found a duplicate of it.
    expect(pairs).toEqual(['b-a', 'x1-a', 'x1-b', 'x2-a', 'x2-b', 'x2-x1']);
    expect(r.kept).toEqual(['a', 'b', 'x1']);
    expect(r.duplicates).toEqual([{ item: 'x2', of: 'x1' }]);
  });

  it('leaves items past the window alone', () => {
    const r = dropNearDuplicates(['a', 'a', 'a'], () => 1, 0.5, { window: 1 });
    expect(r.kept).toEqual(['a', 'a', 'a']);
  });

  it('finds repeated turns with the local embedder', async () => {
    const e = hashedNgramEmbedder();
    const [a, b, c] = await e.embed([
      'My passport number is X9981234 and it expires in 2031.',
      'My passport number is X9981234, and it expires in 2031!',
      'We should book the museum tickets for Saturday morning.',
    ]);
    expect(dot(a!, b!)).toBeGreaterThan(0.92);
    expect(dot(a!, c!)).toBeLessThan(0.5);
    expect(cosine([1, 0], [0, 1])).toBe(0);
    expect(cosine([0, 0], [1, 1])).toBe(0);
  });
});
