import { describe, expect, it } from 'vitest';
import { answerHit, normalizeAnswer, percentile, scoreContext, summarize } from '../../scripts/eval/score.js';

const words = (t: string) => (t.trim() ? t.trim().split(/\s+/).length : 0);

describe('normalizeAnswer', () => {
  it('lower-cases, drops punctuation and articles, collapses spaces', () => {
    expect(normalizeAnswer('The  Lord of the Rings!')).toBe('lord of rings');
    expect(normalizeAnswer('Psychology, counseling certification')).toBe('psychology counseling certification');
    expect(normalizeAnswer('"An apple" — a day')).toBe('apple day');
    expect(normalizeAnswer('7 May, 2023')).toBe('7 may 2023');
  });

  it('keeps articles inside words and turns numbers into strings', () => {
    expect(normalizeAnswer('Theater and banana')).toBe('theater and banana');
    expect(normalizeAnswer(2022)).toBe('2022');
    expect(normalizeAnswer(undefined)).toBe('');
  });
});

describe('answerHit', () => {
  it('matches whole words of the normalized context', () => {
    const ctx = normalizeAnswer('[8 May, 2023] Mel: We went to the beach twice, 2 times!');
    expect(answerHit('8 May 2023', ctx)).toBe(true);
    expect(answerHit(2, ctx)).toBe(true);
    expect(answerHit(202, ctx)).toBe(false);
    expect(answerHit('the BEACH.', ctx)).toBe(true);
    expect(answerHit('', ctx)).toBe(false);
  });
});

describe('scoreContext', () => {
  const q = { evidence: ['I adopted a cat.', 'Her name is Luna. [photo: a cat]'], answer: 'Luna' };

  it('counts evidence turns present verbatim and the answer', () => {
    const s = scoreContext('x I adopted a cat. y', q, 100, words);
    expect(s).toEqual({
      tokens: 6,
      overBudget: false,
      evidenceRecall: 0.5,
      allEvidence: false,
      answerHit: false,
      missed: ['Her name is Luna. [photo: a cat]'],
    });
    const full = scoreContext('I adopted a cat.\nHer name is Luna. [photo: a cat]', q, 100, words);
    expect(full).toMatchObject({ evidenceRecall: 1, allEvidence: true, answerHit: true, missed: [] });
  });

  it('does not credit a paraphrase or a fragment', () => {
    expect(scoreContext('Her name is Luna.', q, 100, words).evidenceRecall).toBe(0);
  });

  it('scores a context over budget as zero', () => {
    const s = scoreContext('I adopted a cat.\nHer name is Luna. [photo: a cat]', q, 5, words);
    expect(s).toEqual({
      tokens: 11,
      overBudget: true,
      evidenceRecall: 0,
      allEvidence: false,
      answerHit: false,
      missed: q.evidence,
    });
  });
});

describe('percentile and summarize', () => {
  it('uses nearest rank', () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([5], 95)).toBe(5);
    expect(percentile([4, 1, 3, 2], 50)).toBe(2);
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        95,
      ),
    ).toBe(95);
  });

  it('averages per question and counts contexts over budget', () => {
    const mk = (r: number, all: boolean, hit: boolean, over: boolean, ms: number) => ({
      score: { tokens: 1, evidenceRecall: r, allEvidence: all, answerHit: hit, overBudget: over, missed: [] },
      ms,
    });
    expect(
      summarize([mk(1, true, true, false, 10), mk(0.5, false, false, false, 30), mk(0, false, false, true, 20)]),
    ).toEqual({
      evidence_recall: 0.5,
      all_evidence: 1 / 3,
      answer_hit: 1 / 3,
      over_budget: 1,
      p50_ms: 20,
      p95_ms: 30,
      questions: 3,
    });
    expect(summarize([]).questions).toBe(0);
  });
});
