// Binary search over sorted data, shared by the retrieval steps that look up in sorted lists.

/** The first index in [0, length) at which `reached` holds, `length` if none; `reached` must be false, then true. */
export function firstIndex(length: number, reached: (index: number) => boolean): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (reached(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Orders two numbers largest first as `b - a` does in a comparator, but as −1, 0 or 1 (0 for equal or NaN, as
 * `b - a || …` falls through then): a fractional difference returned by a comparator is a heap number per call.
 */
export const descending = (a: number, b: number): number => (a > b ? -1 : a < b ? 1 : 0);

/** The numbers once each, ascending: the list itself when it already is (no copy), else a sorted copy without repeats. */
export function ascendingOnce(values: readonly number[]): readonly number[] {
  let ascending = true;
  for (let i = 1; i < values.length && ascending; i++) ascending = values[i - 1]! < values[i]!;
  if (ascending) return values;
  const sorted = Float64Array.from(values).sort();
  const out: number[] = [];
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) out.push(sorted[i]!);
  return out;
}

/**
 * The largest n in [0, count] for which `fits` holds, by binary search (`fits` true up to some n, false above;
 * `fits(0)` is not asked).
 */
export function mostThatFit(count: number, fits: (n: number) => boolean): number {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Two lists sorted by the default string order, merged into one in that order (as sorting them together would). */
export function mergeSorted(a: readonly string[], b: readonly string[]): string[] {
  const out = new Array<string>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = b[j]! < a[i]! ? b[j++]! : a[i++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/**
 * The first `k` of `items` in `compare`'s order: the same as a stable sort of them sliced to `k` (items that compare
 * equal keep their input order), in O(n log k) comparisons when k is a small part of n.
 */
export function firstSorted<T>(items: ArrayLike<T>, k: number, compare: (a: T, b: T) => number): T[] {
  const best: T[] = [];
  if (k <= 0) return best;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (best.length === k && compare(item, best[k - 1]!) >= 0) continue;
    // After every kept item it does not precede: an equal one stays first, as it came first.
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(item, best[mid]!) < 0) hi = mid;
      else lo = mid + 1;
    }
    // Inserted at `lo` in place (the last one drops off once k are kept): no array per insertion, as splice makes.
    let end = best.length;
    if (end < k) best.push(item);
    else end = k - 1;
    for (let j = end; j > lo; j--) best[j] = best[j - 1]!;
    best[lo] = item;
  }
  return best;
}
