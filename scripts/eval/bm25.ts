// Okapi BM25 over short documents (one per turn), in memory. Lower-cased letter/digit runs as terms; no stemming
// and no stop words, so the baseline stays plain and reproducible.

export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

export interface Bm25Options {
  k1?: number;
  b?: number;
}

export interface Ranked {
  index: number;
  score: number;
}

export class Bm25 {
  private readonly k1: number;
  private readonly b: number;
  private readonly postings = new Map<string, { doc: number; tf: number }[]>();
  private readonly lengths: number[];
  private readonly avgLength: number;

  constructor(docs: string[], opts: Bm25Options = {}) {
    this.k1 = opts.k1 ?? 1.2;
    this.b = opts.b ?? 0.75;
    this.lengths = [];
    docs.forEach((text, doc) => {
      const terms = tokenize(text);
      this.lengths.push(terms.length);
      const tf = new Map<string, number>();
      for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const [term, n] of tf) {
        let list = this.postings.get(term);
        if (!list) this.postings.set(term, (list = []));
        list.push({ doc, tf: n });
      }
    });
    const total = this.lengths.reduce((a, n) => a + n, 0);
    this.avgLength = docs.length === 0 ? 0 : total / docs.length;
  }

  get size(): number {
    return this.lengths.length;
  }

  /** Lucene's non-negative IDF: ln(1 + (N − df + 0.5) / (df + 0.5)). */
  idf(term: string): number {
    const df = this.postings.get(term)?.length ?? 0;
    return Math.log(1 + (this.size - df + 0.5) / (df + 0.5));
  }

  /** Score of every document; a term repeated in the query counts once per occurrence, as in the Okapi sum. */
  scores(query: string): Float64Array {
    const out = new Float64Array(this.size);
    for (const term of tokenize(query)) {
      const list = this.postings.get(term);
      if (!list) continue;
      const idf = this.idf(term);
      for (const { doc, tf } of list) {
        const norm = this.k1 * (1 - this.b + (this.b * this.lengths[doc]!) / (this.avgLength || 1));
        out[doc]! += (idf * (tf * (this.k1 + 1))) / (tf + norm);
      }
    }
    return out;
  }

  /** Documents that match at least one query term, best first; ties keep document order. */
  rank(query: string): Ranked[] {
    const s = this.scores(query);
    const ranked: Ranked[] = [];
    s.forEach((score, index) => {
      if (score > 0) ranked.push({ index, score });
    });
    return ranked.sort((a, b) => b.score - a.score || a.index - b.index);
  }
}
