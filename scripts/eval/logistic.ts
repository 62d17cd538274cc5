// L2-regularised logistic regression fitted by Newton's method, on standardised features: few features (tens), many
// rows (hundreds of thousands), so each step is one pass over the rows and a small linear solve. Pure.

export interface Standardised {
  mean: number[];
  scale: number[];
}

/** Mean and standard deviation per column, NaN values left out (a column with no spread gets scale 1). */
export function standardise(rows: readonly (readonly number[])[], columns: number): Standardised {
  const mean = new Array<number>(columns).fill(0);
  const scale = new Array<number>(columns).fill(0);
  const count = new Array<number>(columns).fill(0);
  for (const r of rows)
    for (let j = 0; j < columns; j++)
      if (!Number.isNaN(r[j]!)) {
        mean[j]! += r[j]!;
        count[j]! += 1;
      }
  for (let j = 0; j < columns; j++) mean[j] = count[j]! > 0 ? mean[j]! / count[j]! : 0;
  for (const r of rows)
    for (let j = 0; j < columns; j++) if (!Number.isNaN(r[j]!)) scale[j]! += (r[j]! - mean[j]!) ** 2;
  for (let j = 0; j < columns; j++) {
    const sd = count[j]! > 0 ? Math.sqrt(scale[j]! / count[j]!) : 0;
    scale[j] = sd > 1e-9 ? sd : 1;
  }
  return { mean, scale };
}

/** Solves A x = b for a symmetric positive definite A (Cholesky); A and b are not changed. */
export function solveSpd(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const l = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= l[i]![k]! * l[j]![k]!;
      if (i === j) {
        if (s <= 0) throw new Error('matrix is not positive definite');
        l[i]![i] = Math.sqrt(s);
      } else l[i]![j] = s / l[j]![j]!;
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i]![k]! * y[k]!;
    y[i] = s / l[i]![i]!;
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k]![i]! * x[k]!;
    x[i] = s / l[i]![i]!;
  }
  return x;
}

export interface LogisticFit {
  weights: number[];
  bias: number;
  iterations: number;
}

/**
 * Minimises Σ log-loss + l2/2 · |w|² (the bias is not penalised) over rows already standardised (NaN reads as 0, the
 * mean). Stops when no weight moves by more than `tolerance`.
 */
export function fitLogistic(
  rows: readonly (readonly number[])[],
  labels: readonly number[],
  opts: { l2?: number; maxIterations?: number; tolerance?: number } = {},
): LogisticFit {
  const l2 = opts.l2 ?? 1;
  const d = rows[0]?.length ?? 0;
  const theta = new Array<number>(d + 1).fill(0); // weights, then the bias
  const x = new Float64Array(d + 1);
  let iterations = 0;
  for (; iterations < (opts.maxIterations ?? 50); iterations++) {
    const gradient = new Array<number>(d + 1).fill(0);
    const hessian = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    rows.forEach((r, n) => {
      for (let j = 0; j < d; j++) x[j] = Number.isNaN(r[j]!) ? 0 : r[j]!;
      x[d] = 1;
      let z = 0;
      for (let j = 0; j <= d; j++) z += theta[j]! * x[j]!;
      const p = 1 / (1 + Math.exp(-z));
      const g = p - labels[n]!;
      const h = Math.max(p * (1 - p), 1e-12);
      for (let j = 0; j <= d; j++) {
        gradient[j]! += g * x[j]!;
        const hx = h * x[j]!;
        const row = hessian[j]!;
        for (let k = 0; k <= j; k++) row[k]! += hx * x[k]!;
      }
    });
    for (let j = 0; j <= d; j++) for (let k = 0; k < j; k++) hessian[k]![j] = hessian[j]![k]!;
    for (let j = 0; j < d; j++) {
      gradient[j]! += l2 * theta[j]!;
      hessian[j]![j]! += l2;
    }
    hessian[d]![d]! += 1e-9;
    const step = solveSpd(hessian, gradient);
    let moved = 0;
    for (let j = 0; j <= d; j++) {
      theta[j]! -= step[j]!;
      moved = Math.max(moved, Math.abs(step[j]!));
    }
    if (moved < (opts.tolerance ?? 1e-6)) {
      iterations += 1;
      break;
    }
  }
  return { weights: theta.slice(0, d), bias: theta[d]!, iterations };
}
