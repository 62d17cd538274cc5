// The two reference methods, computed on the same turns as the product: the newest turns that fit (recency) and
// BM25 over turns (best first). Both render one line per turn and output in chronological order.
import { Bm25 } from './bm25.js';
import type { Turn } from './locomo.js';
import { pack, type PackItem, type Packed } from './pack.js';

export const baselineLine = (t: Turn) => `[${t.sessionDate}] ${t.speaker}: ${t.content}`;

/** One written turn as the baselines see it: the line they render and the text BM25 indexes. */
export interface BaselineDoc {
  line: string;
  text: string;
}

export interface BaselineIndex {
  /** One item per turn, `order` = the turn's position in the conversation. */
  items: PackItem[];
  bm25: Bm25;
}

/** Line token counts and the BM25 index are built once per set of turns. */
export function buildBaselineIndex(docs: BaselineDoc[], count: (text: string) => number): BaselineIndex {
  const items = docs.map((d, order) => ({ order, line: d.line, tokens: count(`${d.line}\n`) }));
  return { items, bm25: new Bm25(docs.map((d) => d.text)) };
}

/** Newest first until one does not fit: a contiguous tail of the conversation. */
export function recencyContext(index: BaselineIndex, budget: number, count: (text: string) => number): Packed {
  return pack([...index.items].reverse(), { budget, count, skipMisses: false });
}

/** Matching turns best first; a turn that does not fit is skipped and lower-ranked (shorter) ones are still tried. */
export function bm25Context(
  index: BaselineIndex,
  query: string,
  budget: number,
  count: (text: string) => number,
): Packed {
  const ranked = index.bm25.rank(query).map((r) => index.items[r.index]!);
  return pack(ranked, { budget, count, skipMisses: true });
}
