// Small text helpers: asksQuestion reads a text's end as trimEnd().endsWith('?') does, without copying it.
import { describe, expect, it } from 'vitest';
import { asksQuestion } from '../../src/pipeline/text.js';
import { hostile, rng } from '../fence-check.js';

const SPACES = [' ', '\t', '\n', '\r', '\u00a0', '\u2003', '\u3000', '\ufeff', '\u2028', '\u200b', '\u180e'];
const ENDS = ['', '?', '？', '?!', '¿', 'x?'];

describe('asksQuestion', () => {
  it('agrees with trimEnd().endsWith("?") on seeded texts ending in any white space or none', () => {
    for (let seed = 1; seed <= 2_000; seed++) {
      const r = rng(seed);
      const tail = Array.from({ length: r.int(4) }, () => r.pick(SPACES)).join('');
      const text = hostile(r) + r.pick(ENDS) + tail;
      expect(asksQuestion(text), JSON.stringify(text)).toBe(text.trimEnd().endsWith('?'));
    }
  });

  it('reads every UTF-16 code unit after the mark as trimEnd does', () => {
    const disagree: number[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      const text = `why?${String.fromCharCode(c)}`;
      if (asksQuestion(text) !== text.trimEnd().endsWith('?')) disagree.push(c);
    }
    expect(disagree).toEqual([]);
  });

  it('reads a question after trailing white space, and not a mark inside the text', () => {
    expect(asksQuestion('Where did we go? \n\t')).toBe(true);
    expect(asksQuestion('Is it? No.')).toBe(false);
    expect(asksQuestion('')).toBe(false);
    expect(asksQuestion('   ')).toBe(false);
    expect(asksQuestion('why\u200b?')).toBe(true); // a zero-width space is not white space
    expect(asksQuestion('why?\u200b')).toBe(false);
  });
});
