// The two reference methods, computed on the same turns as the product: the newest turns that fit (recency) and
// BM25 over turns (best first). Both render one line per turn and output in chronological order.
import { Bm25 } from './bm25.js';
import type { Turn } from './locomo.js';
import { pack, type PackItem, type Packed } from './pack.js';

export const baselineLine = (t: Turn) => `[${t.sessionDate}] ${t.speaker}: ${t.content}`;

export interface BaselineIndex {
  /** One item per turn, `order` = the turn's position in the conversation. */
  items: PackItem[];
  bm25: Bm25;
}

/** Line token counts and the BM25 index (over the turn content only) are built once per conversation. */
export function buildBaselineIndex(turns: Turn[], count: (text: string) => number): BaselineIndex {
  const items = turns.map((t, order) => {
    const line = baselineLine(t);
    return { order, line, tokens: count(`${line}\n`) };
  });
  return { items, bm25: new Bm25(turns.map((t) => t.content)) };
}

/** Newest first until one does not fit: a contiguous tail of the conversation. */
export function recencyContext(index: BaselineIndex, budget: number, count: (text: string) => number): Packed {
  return pack([...index.items].reverse(), { budget, count, skipMisses: false });
}

/** Matching turns best first; a turn that does not fit is skipped and lower-ranked (shorter) ones are still tried. */
export function bm25Context(index: BaselineIndex, query: string, budget: number, count: (text: string) => number): Packed {
  const ranked = index.bm25.rank(query).map((r) => index.items[r.index]!);
  return pack(ranked, { budget, count, skipMisses: true });
}
