// The database's text-search vectors, read back as term frequencies. Ranking in-process on the lexemes PostgreSQL
// produced keeps one stemmer and one stop-word list (the `english` configuration) for matching and for scoring.

export interface Lexemes {
  /** Occurrences per lexeme (its number of positions; 1 for a lexeme stored without positions). */
  tf: Map<string, number>;
  /** Total occurrences: the document length BM25 normalises by. */
  length: number;
}

/**
 * Parses the text form of a tsvector: `'lexeme':1,5A 'other':3`. A hand-written scanner: it runs on every candidate.
 */
export function parseTsvector(text: string | null | undefined): Lexemes {
  const tf = new Map<string, number>();
  let length = 0;
  if (!text) return { tf, length };
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (text.charCodeAt(i) !== 39 /* ' */) {
      i++;
      continue;
    }
    // Quoted lexeme: '' is a quote, a backslash escapes the next character.
    let lexeme = '';
    let start = ++i;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 92 /* \ */) {
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
    // Positions: `:1,5A,7` — one occurrence per comma-separated entry.
    let count = 1;
    if (text.charCodeAt(i) === 58 /* : */) {
      for (i++; i < n && text.charCodeAt(i) !== 32; i++) if (text.charCodeAt(i) === 44 /* , */) count++;
    }
    tf.set(lexeme, (tf.get(lexeme) ?? 0) + count);
    length += count;
  }
  return { tf, length };
}
