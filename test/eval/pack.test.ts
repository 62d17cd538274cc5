import { describe, expect, it } from 'vitest';
import { baselineLine, bm25Context, buildBaselineIndex, recencyContext } from '../../scripts/eval/baselines.js';
import type { Turn } from '../../scripts/eval/locomo.js';
import { pack, type PackItem } from '../../scripts/eval/pack.js';
import { getTokenizer } from '../../src/tokenizer.js';

// One token per character keeps the arithmetic visible; the separator "\n" costs 1.
const chars = (t: string) => t.length;
const item = (order: number, line: string): PackItem => ({ order, line, tokens: line.length + 1 });

describe('pack', () => {
  const items = [item(3, 'ccc'), item(0, 'aaaaaaaa'), item(1, 'b'), item(2, 'dd')];

  it('keeps lines in priority order, skips what does not fit and renders chronologically', () => {
    const p = pack(items, { budget: 9, count: chars, skipMisses: true });
    expect(p.kept).toEqual([0, 2, 3]);
    expect(p.text).toBe('b\ndd\nccc');
    expect(p.tokens).toBe(8);
  });

  it('stops at the first miss when asked to keep a prefix of the priority order', () => {
    const p = pack(items, { budget: 9, count: chars, skipMisses: false });
    expect(p.kept).toEqual([0]);
    expect(p.text).toBe('ccc');
  });

  it('spends the separator the last line does not need', () => {
    // Estimates 4 + 2 = 6 > 5, but "ccc\nb" is exactly 5.
    const p = pack([item(1, 'ccc'), item(0, 'b')], { budget: 5, count: chars, skipMisses: false });
    expect(p.text).toBe('b\nccc');
    expect(p.tokens).toBe(5);
  });

  it('drops the lowest-priority line when the exact join costs more than the estimate', () => {
    const pricey = (t: string) => t.length + (t.includes('\n') ? 10 : 0);
    const p = pack([item(0, 'aa'), item(1, 'bb')], { budget: 8, count: pricey, skipMisses: true });
    expect(p.kept).toEqual([0]);
    expect(p.tokens).toBeLessThanOrEqual(8);
  });

  it('returns an empty text when nothing fits', () => {
    expect(pack([item(0, 'long line')], { budget: 3, count: chars, skipMisses: true })).toEqual({
      text: '',
      tokens: 0,
      kept: [],
    });
  });
});

describe('baselines', () => {
  const turn = (i: number, speaker: string, content: string): Turn => ({
    diaId: `D1:${i}`,
    speaker,
    content,
    sessionDate: '1:56 pm on 8 May, 2023',
    createdAt: '2023-05-08T13:56:00.000Z',
  });
  const turns = [
    turn(1, 'Ann', 'I adopted a cat named Luna last week.'),
    turn(2, 'Bo', 'Lovely! I went hiking in the Alps. [photo: a mountain lake]'),
    turn(3, 'Ann', 'My sister visits on Sunday.'),
    turn(4, 'Bo', 'Say hi to her from me.'),
  ];

  it('renders one dated line per turn', () => {
    expect(baselineLine(turns[1]!)).toBe(
      '[1:56 pm on 8 May, 2023] Bo: Lovely! I went hiking in the Alps. [photo: a mountain lake]',
    );
  });

  it('recency keeps the newest turns that fit, oldest first, within the exact o200k budget', async () => {
    const tok = await getTokenizer();
    const count = (t: string) => tok.count(t);
    const index = buildBaselineIndex(
      turns.map((t) => ({ line: baselineLine(t), text: t.content })),
      count,
    );
    const twoNewest = `${baselineLine(turns[2]!)}\n${baselineLine(turns[3]!)}`;
    const p = recencyContext(index, count(twoNewest), count);
    expect(p.text).toBe(twoNewest);
    expect(recencyContext(index, 10_000, count).text).toBe(turns.map(baselineLine).join('\n'));
  });

  it('bm25 keeps the best matches that fit and prints them in conversation order', async () => {
    const tok = await getTokenizer();
    const count = (t: string) => tok.count(t);
    const index = buildBaselineIndex(
      turns.map((t) => ({ line: baselineLine(t), text: t.content })),
      count,
    );
    const all = bm25Context(index, 'What is the name of the cat Ann adopted, and who visits her?', 10_000, count);
    expect(all.text.split('\n').map((l) => l.slice(l.indexOf('] ') + 2, l.indexOf(':', l.indexOf('] '))))).toEqual([
      'Ann',
      'Bo',
      'Ann',
      'Bo',
    ]);
    const best = bm25Context(index, 'cat adopted Luna', count(baselineLine(turns[0]!)), count);
    expect(best.text).toBe(baselineLine(turns[0]!));
    expect(bm25Context(index, 'zebra', 1000, count).text).toBe('');
    for (const budget of [5, 20, 40, 60])
      expect(count(bm25Context(index, 'cat hiking sister', budget, count).text)).toBeLessThanOrEqual(budget);
  });
});
