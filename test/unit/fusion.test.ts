import { describe, expect, it } from 'vitest';
import { rankIds, reciprocalRankFusion, weightedSum } from '../../src/pipeline/retriever/fusion.js';

describe('fusion', () => {
  it('RRF rewards items ranked well by several signals', () => {
    const fused = reciprocalRankFusion([{ ids: ['a', 'b', 'c'] }, { ids: ['c', 'b', 'a'] }, { ids: ['b'] }]);
    expect(rankIds(fused)[0]).toBe('b');
    expect(fused.get('a')).toBeCloseTo(1 / 61 + 1 / 63);
  });

  it('RRF weights scale a signal', () => {
    const fused = reciprocalRankFusion([{ ids: ['a', 'b'] }, { ids: ['b', 'a'], weight: 0.5 }]);
    expect(rankIds(fused)).toEqual(['a', 'b']);
    const strong = reciprocalRankFusion([{ ids: ['a', 'b'] }, { ids: ['b', 'a'], weight: 2 }]);
    expect(rankIds(strong)).toEqual(['b', 'a']);
  });

  it('weighted sum normalises each signal by its maximum', () => {
    const fused = weightedSum([
      { scores: new Map([['a', 10], ['b', 5]]), weight: 1 },
      { scores: new Map([['a', 0.1], ['b', 0.2]]), weight: 1 },
    ]);
    expect(fused.get('a')).toBeCloseTo(1 + 0.5);
    expect(fused.get('b')).toBeCloseTo(0.5 + 1);
  });

  it('breaks ties by recency, then by id, so the order is deterministic', () => {
    const scores = new Map([['x', 1], ['y', 1], ['z', 1]]);
    expect(rankIds(scores, new Map([['x', 1], ['y', 3], ['z', 2]]))).toEqual(['y', 'z', 'x']);
    expect(rankIds(scores)).toEqual(['x', 'y', 'z']);
  });
});
