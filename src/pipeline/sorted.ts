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
