// The database's text-search vectors, read back as term frequencies. Ranking in-process on the lexemes PostgreSQL
// produced keeps one stemmer and one stop-word list (the `english` configuration) for matching and for scoring.

export interface Lexemes {
  /** Occurrences per lexeme (its number of positions; 1 for a lexeme stored without positions). */
  tf: Map<string, number>;
  /** Total occurrences: the document length BM25 normalises by. */
  length: number;
}

const entry = /'((?:[^'\\]|''|\\.)*)'(?::([0-9A-D,]+))?/g;

/** Parses the text form of a tsvector: `'lexeme':1,5A 'other':3`. */
export function parseTsvector(text: string | null | undefined): Lexemes {
  const tf = new Map<string, number>();
  let length = 0;
  if (!text) return { tf, length };
  for (const m of text.matchAll(entry)) {
    const lexeme = m[1]!.replace(/''/g, "'").replace(/\\(.)/g, '$1');
    const n = m[2] ? m[2].split(',').length : 1;
    tf.set(lexeme, (tf.get(lexeme) ?? 0) + n);
    length += n;
  }
  return { tf, length };
}
