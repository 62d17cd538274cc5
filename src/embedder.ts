// The Embedder port and its offline default. Vectors seed candidates by meaning and give the learned ranker its
// closeness features (ADR 0014); near-duplicate turns are found by spelling (hashed n-grams) whatever the embedder.

export interface Embedder {
  readonly model: string;
  /** True when similar meaning gives similar vectors (a trained model); false when only similar spelling does. */
  readonly semantic: boolean;
  /**
   * Vectors worth keeping: each call is a round trip to a model, so turns are embedded once, in the background, and
   * stored; a query then embeds only its own text (ADR 0012).
   */
  readonly stored?: boolean;
  /** One vector per text, in order; unit length. Throws on failure (callers fall back to lexical signals). */
  embed(texts: string[]): Promise<Float32Array[]>;
}

/** Word-level access for soft term matching: a text's known words and the cosine between two of them. */
export interface WordLevel {
  /** Rows of the text's words found in the table, in order (repeats kept); a row is its word's frequency rank. */
  rows(text: string): number[];
  /** Cosine of two rows' vectors. */
  cosine(a: number, b: number): number;
  /** SIF weight of a row: near 0 for the most frequent words, near 1 for rare ones. */
  weight(row: number): number;
  /**
   * Calls `found(k, i, sim)` for each query row `qRows[k]` and row `rows[i]` whose cosine (the value `cosine` gives)
   * is at least `threshold`, in ascending `i` for each `k`. Optional: one scan of many rows for several query rows.
   */
  near?(
    qRows: readonly number[],
    rows: readonly number[],
    threshold: number,
    found: (k: number, i: number, sim: number) => void,
  ): void;
}

/** An embedder built from word vectors, which also answers word-level questions. */
export type WordVectorEmbedder = Embedder & { words: WordLevel };

export const hasWords = (e: Embedder | undefined): e is WordVectorEmbedder => !!e && 'words' in e;

const DIMENSIONS = 256;

/**
 * Deterministic, offline vectors: character 3- to 5-grams of each word (with word boundaries), hashed with a sign
 * into a fixed number of dimensions. Texts that share words or word forms get close vectors; no weights, no
 * network, the same vector on every machine.
 */
export function hashedNgramEmbedder(dimensions = DIMENSIONS): Embedder {
  // Reused between texts: the signed counts (integers, so summing them before the float vector changes nothing) and
  // each word's character codes with its boundaries, instead of a new string per word.
  const counts = new Int32Array(dimensions);
  let codes = new Uint16Array(64);
  const mask = (dimensions & (dimensions - 1)) === 0 ? dimensions - 1 : -1;
  const embedOne = (text: string) => {
    counts.fill(0);
    for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
      const n = word.length + 2;
      if (codes.length < n) codes = new Uint16Array(2 * n);
      codes[0] = 0x3c; // <
      for (let k = 0; k < word.length; k++) codes[k + 1] = word.charCodeAt(k);
      codes[n - 1] = 0x3e; // >
      // FNV-1a extended one character at a time: the 3-, 4- and 5-gram hashes at each start share their prefix.
      // Hashes as int32 (the same bits as unsigned): the sign bit gives the sign, the low bits the dimension.
      for (let i = 0; i + 3 <= n; i++) {
        let h = 0x811c9dc5 | 0;
        const end = Math.min(i + 5, n);
        for (let j = i; j < end; j++) {
          h = Math.imul(h ^ codes[j]!, 0x01000193);
          if (j - i >= 2) counts[mask >= 0 ? h & mask : (h >>> 0) % dimensions]! += h < 0 ? -1 : 1;
        }
      }
    }
    return unit(new Float32Array(counts));
  };
  return {
    model: `hashed-char-ngrams-${dimensions}`,
    semantic: false,
    embed: async (texts) => texts.map(embedOne),
  };
}

/** Scales `v` in place to unit length (a zero vector stays zero) and returns it. */
export function unit(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  if (norm > 0) {
    const inv = 1 / Math.sqrt(norm);
    for (let i = 0; i < v.length; i++) v[i]! *= inv;
  }
  return v;
}

/** Dot product of two unit vectors (their cosine). */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
  return s;
}
