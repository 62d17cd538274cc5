import { describe, expect, it } from 'vitest';
import { Bm25, tokenize } from '../../scripts/eval/bm25.js';

describe('tokenize', () => {
  it('lower-cases letter and digit runs, without stemming', () => {
    expect(tokenize("Caroline's LGBTQ group, in 2023! Running runs")).toEqual([
      'caroline',
      's',
      'lgbtq',
      'group',
      'in',
      '2023',
      'running',
      'runs',
    ]);
    expect(tokenize('Café über')).toEqual(['café', 'über']);
    expect(tokenize('—')).toEqual([]);
  });
});

describe('Bm25', () => {
  const docs = ['the cat sat', 'the dog barked at the cat', 'a bird sang', 'dogs and cats'];
  const bm = new Bm25(docs);

  it('scores by the Okapi formula with k1 = 1.2 and b = 0.75', () => {
    // "cat" is in docs 0 and 1: idf = ln(1 + (4 − 2 + 0.5) / (2 + 0.5)) = ln 2; avgdl = (3 + 6 + 3 + 3) / 4.
    const avg = 15 / 4;
    const idf = Math.log(2);
    const expected = (len: number) => (idf * (1 * 2.2)) / (1 + 1.2 * (1 - 0.75 + (0.75 * len) / avg));
    const s = bm.scores('cat');
    expect(s[0]).toBeCloseTo(expected(3), 12);
    expect(s[1]).toBeCloseTo(expected(6), 12);
    expect(s[2]).toBe(0);
    expect(s[3]).toBe(0); // no stemming: "cats" is not "cat"
  });

  it('ranks only matching documents, best first, shorter document ahead on equal term frequency', () => {
    expect(bm.rank('cat').map((r) => r.index)).toEqual([0, 1]);
    expect(bm.rank('barked cat').map((r) => r.index)).toEqual([1, 0]);
    expect(bm.rank('zebra')).toEqual([]);
  });

  it('weights rare terms above common ones and counts repeated query terms', () => {
    expect(bm.idf('bird')).toBeGreaterThan(bm.idf('the'));
    expect(bm.scores('bird bird')[2]).toBeCloseTo(2 * bm.scores('bird')[2]!, 12);
  });

  it('is case-insensitive and copes with an empty corpus', () => {
    expect(bm.scores('CAT')[0]).toBe(bm.scores('cat')[0]);
    expect(new Bm25([]).rank('cat')).toEqual([]);
  });
});
