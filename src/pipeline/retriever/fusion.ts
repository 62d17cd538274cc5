// Combining ranked signals. Reciprocal rank fusion needs no calibration between signals (a BM25 score and a cosine
// live on different scales); the weighted sum keeps score gaps and is used where the scales are normalised first.

/** RRF: score(id) = Σ weight / (k + rank), rank starting at 1 in each list. */
export function reciprocalRankFusion(rankings: { ids: readonly string[]; weight?: number }[], k = 60): Map<string, number> {
  const out = new Map<string, number>();
  for (const { ids, weight = 1 } of rankings) {
    ids.forEach((id, i) => out.set(id, (out.get(id) ?? 0) + weight / (k + i + 1)));
  }
  return out;
}

/** Σ weight × score / max(score) per signal; an id missing from a signal contributes 0 there. */
export function weightedSum(signals: { scores: ReadonlyMap<string, number>; weight: number }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const { scores, weight } of signals) {
    let max = 0;
    for (const v of scores.values()) if (v > max) max = v;
    for (const [id, v] of scores) out.set(id, (out.get(id) ?? 0) + (max > 0 ? (weight * v) / max : 0));
  }
  return out;
}

/** Ids by descending score; ties go to the later id in `order` (newer turns), then by id for determinism. */
export function rankIds(scores: ReadonlyMap<string, number>, order?: ReadonlyMap<string, number>): string[] {
  return [...scores.keys()].sort(
    (a, b) => scores.get(b)! - scores.get(a)! || (order?.get(b) ?? 0) - (order?.get(a) ?? 0) || (a < b ? -1 : a > b ? 1 : 0),
  );
}
