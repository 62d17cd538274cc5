// Misspelt query words ("torunament"): a lower-case word the bundled word table does not know is also searched as its
// most frequent known spelling one edit away. Names, short words and known words are left alone; the original stays.
import type { WordLevel } from '../../embedder.js';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
/** Shorter words have too many one-edit neighbours to guess from. */
const MIN_LENGTH = 5;

function* oneEdit(word: string): Generator<string> {
  for (let i = 0; i <= word.length; i++) {
    const head = word.slice(0, i);
    const tail = word.slice(i);
    if (tail) yield head + tail.slice(1);
    if (tail.length > 1) yield head + tail[1] + tail[0] + tail.slice(2);
    for (const c of LETTERS) {
      if (tail && c !== tail[0]) yield head + c + tail.slice(1);
      yield head + c + tail;
    }
  }
}

/** The word's most frequent one-edit spelling that the table knows, when the table does not know the word itself. */
export function correction(words: Pick<WordLevel, 'rows'>, word: string): string | undefined {
  if (word.length < MIN_LENGTH || !/^[a-z]+$/.test(word) || words.rows(word).length > 0) return undefined;
  let best: { spelling: string; rank: number } | undefined;
  for (const spelling of oneEdit(word)) {
    const rank = words.rows(spelling)[0];
    if (rank !== undefined && (!best || rank < best.rank)) best = { spelling, rank };
  }
  return best?.spelling;
}

/** The query with the likely spellings of its unknown words appended (the query itself when there are none). */
export function withSpellings(words: Pick<WordLevel, 'rows'>, query: string): string {
  const found = new Set<string>();
  for (const token of query.match(/\p{L}+/gu) ?? []) {
    const fixed = correction(words, token);
    if (fixed) found.add(fixed);
  }
  return found.size ? `${query} ${[...found].join(' ')}` : query;
}
