// The database's text-search vectors, read back as term frequencies. Ranking in-process on the lexemes PostgreSQL
// produced keeps one stemmer and one stop-word list (the `english` configuration) for matching and for scoring.
import { firstIndex, mergeSorted } from '../sorted.js';

export interface Lexemes {
  /** Occurrences per lexeme (its number of positions; 1 for a lexeme stored without positions). */
  tf: Map<string, number>;
  /** Total occurrences: the document length BM25 normalises by. */
  length: number;
  /** The same lexemes numbered in a session copy's lexicon (see `intern`), for counting them in typed arrays. */
  interned?: Interned;
}

/** Lexemes numbered in order of first sight; one per session copy, shared by its turns. */
export class Lexicon {
  readonly ids = new Map<string, number>();
  readonly words: string[] = [];
  /** The first `#sortedCount` words in string order, for prefix lookups (sorted on the first lookup). */
  #sorted: string[] | undefined;
  #sortedCount = 0;

  /**
   * The words starting with `prefix` (itself included), in string order: a binary search into the words sorted, which
   * are merged with the words numbered since the last lookup.
   */
  withPrefix(prefix: string): string[] {
    if (!this.#sorted) this.#sorted = [...this.words].sort();
    else if (this.#sortedCount < this.words.length)
      this.#sorted = mergeSorted(this.#sorted, this.words.slice(this.#sortedCount).sort());
    this.#sortedCount = this.words.length;
    const sorted = this.#sorted;
    const out: string[] = [];
    for (let i = firstIndex(sorted.length, (k) => sorted[k]! >= prefix); i < sorted.length; i++) {
      if (!sorted[i]!.startsWith(prefix)) break;
      out.push(sorted[i]!);
    }
    return out;
  }

  /** The lexeme's id, numbering it if new. */
  idOf(lexeme: string): number {
    let id = this.ids.get(lexeme);
    if (id === undefined) {
      id = this.words.push(lexeme) - 1;
      this.ids.set(lexeme, id);
    }
    return id;
  }
}

export interface Interned {
  lexicon: Lexicon;
  /**
   * Id and occurrences of each lexeme, in `tf`'s order: [id, count, id, count, …] from `from` up to `to` (a session
   * copy's turns share one array).
   */
  pairs: Int32Array;
  from: number;
  to: number;
}

/** A turn's lexemes numbered in the lexicon (new ones are added): [id, count, …] in `tf`'s order. */
function pairsOf(lexicon: Lexicon, lexemes: Lexemes): Int32Array {
  const pairs = new Int32Array(2 * lexemes.tf.size);
  let k = 0;
  for (const [lexeme, count] of lexemes.tf) {
    pairs[k++] = lexicon.idOf(lexeme);
    pairs[k++] = count;
  }
  return pairs;
}

/** Numbers a turn's lexemes in the lexicon (new ones are added) and keeps the ids with them. */
export function intern(lexicon: Lexicon, lexemes: Lexemes): Lexemes {
  const pairs = pairsOf(lexicon, lexemes);
  // Not enumerable: a derived index, so a copy's rows still equal the database's (as the tests compare them).
  Object.defineProperty(lexemes, 'interned', {
    value: { lexicon, pairs, from: 0, to: pairs.length } satisfies Interned,
  });
  return lexemes;
}

/**
 * A turn's lexemes from their interned pairs (see `intern`): the same map, in the same order, with the same counts.
 * A session copy keeps only the pairs; the map is built on first use (ranking a copy's rows counts by id instead). A
 * class that is its own `interned`, so the rows a query reads cost one small object each.
 */
class InternedLexemes implements Lexemes, Interned {
  readonly length: number;
  #tf: Map<string, number> | undefined;

  constructor(
    readonly lexicon: Lexicon,
    readonly pairs: Int32Array,
    readonly from: number,
    readonly to: number,
  ) {
    let length = 0;
    for (let k = from + 1; k < to; k += 2) length += pairs[k]!;
    this.length = length;
  }

  get interned(): Interned {
    return this;
  }

  get tf(): Map<string, number> {
    if (!this.#tf) {
      const { lexicon, pairs } = this;
      this.#tf = new Map();
      for (let k = this.from; k < this.to; k += 2) this.#tf.set(lexicon.words[pairs[k]!]!, pairs[k + 1]!);
    }
    return this.#tf;
  }
}

/** A turn's lexemes from `pairs` (from `from` up to `to`; the whole array by default), numbered in `lexicon`. */
export function fromInterned(lexicon: Lexicon, pairs: Int32Array, from = 0, to = pairs.length): Lexemes {
  return new InternedLexemes(lexicon, pairs, from, to);
}

/** The same lexemes kept as numbered pairs only (see `fromInterned`): their map is not held. */
export const numbered = (lexicon: Lexicon, lexemes: Lexemes): Lexemes =>
  fromInterned(lexicon, pairsOf(lexicon, lexemes));

/** The lexicon every one of the documents is interned in, if they share one. */
export function sharedLexicon(docs: readonly { lexemes: Lexemes }[]): Lexicon | undefined {
  const lexicon = docs[0]?.lexemes.interned?.lexicon;
  if (!lexicon) return undefined;
  for (const d of docs) if (d.lexemes.interned?.lexicon !== lexicon) return undefined;
  return lexicon;
}

/**
 * Walks the text form of a tsvector (`'lexeme':1,5A 'other':3`): each lexeme unquoted ('' is a quote, a backslash
 * escapes the next character) with how many positions it has (1 when none), its last position (0 when none) and
 * whether it held a backslash. A hand-written scanner: it runs on every candidate read from the database.
 */
export function scanTsvector(
  text: string,
  visit: (lexeme: string, count: number, last: number, backslash: boolean) => void,
): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (text.charCodeAt(i) !== 39 /* ' */) {
      i++;
      continue;
    }
    let lexeme = '';
    let backslash = false;
    let start = ++i;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 92 /* \ */) {
        backslash ||= text.charCodeAt(i + 1) === 92;
        lexeme += text.slice(start, i);
        start = ++i;
      } else if (c === 39) {
        if (text.charCodeAt(i + 1) === 39) {
          lexeme += text.slice(start, i + 1);
          start = ++i + 1;
        } else break;
      }
    }
    lexeme += text.slice(start, i);
    i++;
    // Positions `:1,5A,7`: one occurrence per comma-separated entry; they ascend, so the last is the latest.
    let count = 1;
    let last = 0;
    if (text.charCodeAt(i) === 58 /* : */) {
      for (i++; i < n && text.charCodeAt(i) !== 32; i++) {
        const c = text.charCodeAt(i);
        if (c === 44 /* , */) {
          count++;
          last = 0;
        } else if (c >= 48 && c <= 57) last = last * 10 + (c - 48);
      }
    }
    visit(lexeme, count, last, backslash);
  }
}

/** Parses the text form of a tsvector into term frequencies and its length (see scanTsvector). */
export function parseTsvector(text: string | null | undefined): Lexemes {
  const tf = new Map<string, number>();
  let length = 0;
  if (text)
    scanTsvector(text, (lexeme, count) => {
      tf.set(lexeme, (tf.get(lexeme) ?? 0) + count);
      length += count;
    });
  return { tf, length };
}
