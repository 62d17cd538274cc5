// Packs lines into a token budget by priority and renders them in their natural (chronological) order. Selection
// uses per-line costs (cheap); the budget is then checked on the exact joined text, which is what gets scored.

export interface PackItem {
  /** Position in the output (e.g. the turn's index in the conversation). */
  order: number;
  line: string;
  /**
   * Tokens of `line` followed by the separator. With o200k and lines that start with a non-space character a
   * join costs exactly the sum of these minus at most one for the last line, so selection rarely needs a recount.
   */
  tokens: number;
}

export interface PackOptions {
  budget: number;
  count: (text: string) => number;
  /**
   * true: a line that does not fit is skipped and lower-priority (possibly shorter) lines are still tried.
   * false: packing stops at the first line that does not fit, so the result is a prefix of the priority order.
   */
  skipMisses: boolean;
  separator?: string;
}

export interface Packed {
  text: string;
  tokens: number;
  /** Indices into the priority list of the lines kept. */
  kept: number[];
}

export function pack(items: PackItem[], opts: PackOptions): Packed {
  const sep = opts.separator ?? '\n';
  const sepTokens = opts.count(sep);
  const render = (chosen: number[]) =>
    chosen
      .map((i) => items[i]!)
      .sort((a, b) => a.order - b.order)
      .map((it) => it.line)
      .join(sep);

  const kept: number[] = [];
  let estimate = 0;
  for (let i = 0; i < items.length; i++) {
    const cost = items[i]!.tokens;
    if (estimate + cost <= opts.budget) {
      kept.push(i);
      estimate += cost;
    } else if (!opts.skipMisses) break;
  }

  let text = render(kept);
  let tokens = opts.count(text);
  while (tokens > opts.budget && kept.length > 0) {
    kept.pop();
    text = render(kept);
    tokens = opts.count(text);
  }

  // The estimate counts one separator too many (after the last line): spend any slack on the next lines in priority
  // order, each checked exactly.
  const inKept = new Set(kept);
  for (let i = opts.skipMisses ? 0 : kept.length; i < items.length; i++) {
    if (inKept.has(i)) continue;
    if (items[i]!.tokens - sepTokens <= opts.budget - tokens) {
      const next = render([...kept, i]);
      const nextTokens = opts.count(next);
      if (nextTokens <= opts.budget) {
        kept.push(i);
        inKept.add(i);
        text = next;
        tokens = nextTokens;
        continue;
      }
    }
    if (!opts.skipMisses) break;
  }
  return { text, tokens, kept };
}
