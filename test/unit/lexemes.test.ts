import { describe, expect, it } from 'vitest';
import { parseTsvector } from '../../src/pipeline/retriever/lexemes.js';
import { matchesCues, timeCues } from '../../src/pipeline/retriever/temporal.js';

describe('tsvector lexemes', () => {
  it('reads term frequencies and length from the text form', () => {
    const l = parseTsvector("'carolin':1 'paint':5,9A 'o''brien':3 'nopos'");
    expect(l.tf.get('carolin')).toBe(1);
    expect(l.tf.get('paint')).toBe(2);
    expect(l.tf.get("o'brien")).toBe(1);
    expect(l.tf.get('nopos')).toBe(1);
    expect(l.length).toBe(5);
    expect(parseTsvector('').length).toBe(0);
    expect(parseTsvector(null).tf.size).toBe(0);
  });
});

describe('time cues', () => {
  it('finds months and years, and ignores "may" the verb', () => {
    expect(timeCues('When did she go camping in June 2023?')).toEqual({ months: [5], years: [2023] });
    expect(timeCues('What may she do next?')).toEqual({ months: [], years: [] });
    expect(timeCues('Where was she in May?').months).toEqual([4]);
    expect(timeCues(undefined)).toEqual({ months: [], years: [] });
  });

  it('matches turns written in the month named or the month after', () => {
    const june = timeCues('in June 2023');
    expect(matchesCues('2023-06-10T10:00:00Z', june)).toBe(true);
    expect(matchesCues('2023-07-02T10:00:00Z', june)).toBe(true);
    expect(matchesCues('2023-08-02T10:00:00Z', june)).toBe(false);
    expect(matchesCues('2022-06-10T10:00:00Z', june)).toBe(false);
    const december = timeCues('December 2022');
    expect(matchesCues('2023-01-05T00:00:00Z', december)).toBe(true);
    expect(matchesCues('2023-06-10T10:00:00Z', timeCues('during 2023'))).toBe(true);
    expect(matchesCues('2023-06-10T10:00:00Z', timeCues('nothing'))).toBe(false);
  });

  it('reads a time in UTC whatever its offset, the same on every call, and never matches one that does not parse', () => {
    const may = timeCues('in May 2023');
    // 23:30 on 30 June at −02:00 is 1 July in UTC: two months after May.
    for (let i = 0; i < 3; i++) {
      expect(matchesCues('2023-06-30T23:30:00-02:00', may)).toBe(false);
      expect(matchesCues('2023-06-01T00:30:00+02:00', may)).toBe(true);
      expect(matchesCues('not a time', may)).toBe(false);
      expect(matchesCues('not a time', timeCues('during 2023'))).toBe(false);
    }
  });
});

describe('tsvector escapes', () => {
  it('reads backslash escapes and doubled quotes', () => {
    const l = parseTsvector("'a\\\\b':2 'it''s':1,3 'x':4");
    expect([...l.tf.entries()]).toEqual([
      ['a\\b', 1],
      ["it's", 2],
      ['x', 1],
    ]);
    expect(l.length).toBe(4);
  });
});
