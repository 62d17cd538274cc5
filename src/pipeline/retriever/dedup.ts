// Near-duplicate removal, the redundancy half of maximal marginal relevance: walking a ranked list, an item too
// similar to one already chosen adds nothing a model has not seen, so it gives its place to the next one.

export interface DedupResult<T> {
  kept: T[];
  /** Each dropped item with the item it duplicates. */
  duplicates: { item: T; of: T }[];
}

/** Cosine of two vectors of equal length (0 when either is all zeros). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Jaccard overlap of two term sets. */
export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 0;
  let both = 0;
  for (const x of a) if (b.has(x)) both++;
  return both / (a.size + b.size - both);
}

/**
 * Keeps `ranked` in order, dropping an item whose similarity to an earlier kept item reaches `threshold`. Only the
 * first `window` items are compared (the ones a budget can hold), and only with earlier items sharing one of their
 * `keys` (e.g. their rarest terms: near-duplicates share those), so the cost stays near linear.
 */
export function dropNearDuplicates<T>(
  ranked: readonly T[],
  similarity: (a: T, b: T) => number,
  threshold: number,
  opts: { window?: number; keys?: (item: T) => readonly string[] } = {},
): DedupResult<T> {
  const window = opts.window ?? 300;
  const kept: T[] = [];
  const duplicates: { item: T; of: T }[] = [];
  const byKey = new Map<string, T[]>();
  // The items already compared with the one at index i are marked i (one map for the call, not a set per item).
  const comparedWith = new Map<T, number>();
  /** The first earlier item (by key, then in order) that shares a key with `item` and is similar enough. */
  const firstSharing = (item: T, i: number, keys: readonly string[]): T | undefined => {
    for (const k of keys) {
      const others = byKey.get(k);
      if (!others) continue;
      for (const other of others) {
        if (comparedWith.get(other) === i) continue;
        comparedWith.set(other, i);
        if (similarity(item, other) >= threshold) return other;
      }
    }
    return undefined;
  };
  for (let i = 0; i < ranked.length; i++) {
    const item = ranked[i]!;
    if (i >= window) {
      kept.push(item);
      continue;
    }
    const keys = opts.keys?.(item);
    const of = keys ? firstSharing(item, i, keys) : kept.find((k) => similarity(item, k) >= threshold);
    if (of !== undefined) {
      duplicates.push({ item, of });
      continue;
    }
    kept.push(item);
    for (const k of keys ?? []) {
      const list = byKey.get(k);
      if (list) list.push(item);
      else byKey.set(k, [item]);
    }
  }
  return { kept, duplicates };
}
