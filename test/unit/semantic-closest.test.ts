// A query word's related session words: the one-scan path over several query words (WordLevel.near) keeps the lists
// the word-by-word cosines give, new rows merged into lists already kept.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseWordVectors, wordVectorEmbedder } from '../../src/adapters/embedder/word-vectors.js';
import { closest } from '../../src/pipeline/retriever/semantic.js';

describe('closest related words', () => {
  const { words } = wordVectorEmbedder(
    parseWordVectors(readFileSync(new URL('../../assets/word-vectors.bin', import.meta.url))),
  );
  const oneByOne = { ...words, near: undefined };
  const rowsOf = (text: string) => [...new Set(words.rows(text))];
  const vocabulary = rowsOf(
    'camping hiking mountains forest lake kayaking climbing trail tent campfire fishing canoe river woods ' +
      'invoice audit payment budget spreadsheet salary taxes bank loan mortgage painting pottery sculpture canvas',
  );
  const queries = rowsOf('hike camp paint money outdoors');

  it('gives the same lists in one scan as word by word', () => {
    const fast = closest(words, queries, vocabulary);
    expect(fast).toEqual(closest(oneByOne, queries, vocabulary));
    expect(fast.some((list) => list.length > 1)).toBe(true);
    // Each list closest first, above the threshold.
    for (const list of fast)
      for (let i = 1; i < list.length; i++) expect(list[i - 1]!.sim).toBeGreaterThanOrEqual(list[i]!.sim);
  });

  it('merges rows added later into the lists kept, as one scan of all of them would', () => {
    const half = vocabulary.length >> 1;
    const kept = closest(words, queries, vocabulary.slice(0, half));
    const merged = closest(words, queries, vocabulary.slice(half), (k) => kept[k]!);
    expect(merged).toEqual(closest(oneByOne, queries, vocabulary));
  });
});
