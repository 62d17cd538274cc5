import { describe, expect, it } from 'vitest';
import { newestOfAll } from '../../src/pipeline/retriever/snapshot.js';
import { rng } from '../fence-check.js';

/** What the copy answered before: the sorted union, walked from its newest end. */
function newestOfUnion(lists: readonly number[][], limit: number, pass: (v: number) => boolean): number[] {
  const union = [...new Set(lists.flat())].sort((a, b) => a - b);
  const out: number[] = [];
  for (let i = union.length - 1; i >= 0 && out.length < limit; i--) if (pass(union[i]!)) out.push(union[i]!);
  return out;
}

describe('the newest matches of a prefix’s lexemes', () => {
  it('equals the newest of their sorted union, duplicates once, filtered and limited', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const r = rng(seed);
      const lists = Array.from({ length: r.int(5) }, () =>
        [...new Set(Array.from({ length: r.int(30) }, () => 1 + r.int(60)))].sort((a, b) => a - b),
      );
      const limit = r.int(40);
      const odd = r.int(2) === 1;
      const pass = (v: number) => !odd || v % 3 !== 0;
      expect(newestOfAll(lists, limit, pass), `seed ${seed}`).toEqual(newestOfUnion(lists, limit, pass));
    }
  });

  it('reads lists newest first across them', () => {
    expect(newestOfAll([[1, 4, 9], [2, 4, 10], []], 4, () => true)).toEqual([10, 9, 4, 2]);
  });
});
