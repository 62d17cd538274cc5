// Regression gate: `--baseline <json>` fails when a score falls more than `--tolerance` (default 0.02) below an earlier
// `--json` output or a row is missing; a cross-session run also fails when another user's turn reached a context.
import { readFile } from 'node:fs/promises';
import type { JsonRow } from './report.js';

export const DEFAULT_TOLERANCE = 0.02;
export const gatedMetrics = ['evidence_recall', 'value_retention', 'all_evidence', 'answer_hit'] as const;

export interface Regression {
  row: string;
  metric: (typeof gatedMetrics)[number] | 'missing';
  baseline: number;
  current: number | null;
}

const rowKey = (r: Pick<JsonRow, 'method' | 'budget' | 'category'>) =>
  `${r.method}@${r.budget}${r.category === undefined ? '' : `/category ${r.category}`}`;

export function parseTolerance(text: string): number {
  const t = Number(text);
  if (!Number.isFinite(t) || t < 0 || t > 1)
    throw new Error(`--tolerance must be a number from 0 to 1, got ${JSON.stringify(text)}`);
  return t;
}

/** Every baseline row must exist in the current results with each gated score at least baseline − tolerance. */
export function compareToBaseline(
  current: { results: JsonRow[] },
  baseline: { results: JsonRow[] },
  tolerance: number,
): Regression[] {
  const now = new Map(current.results.map((r) => [rowKey(r), r]));
  const out: Regression[] = [];
  for (const b of baseline.results) {
    const c = now.get(rowKey(b));
    if (!c) {
      out.push({ row: rowKey(b), metric: 'missing', baseline: 0, current: null });
      continue;
    }
    for (const m of gatedMetrics) {
      const was = b[m];
      if (typeof was !== 'number') continue;
      const score = c[m];
      if (typeof score !== 'number' || score < was - tolerance - 1e-9)
        out.push({ row: rowKey(b), metric: m, baseline: was, current: score ?? null });
    }
  }
  return out;
}

export class GateFailed extends Error {
  constructor(readonly regressions: Regression[]) {
    super(`regression gate failed: ${regressions.length} score(s) below the baseline`);
    this.name = 'GateFailed';
  }
}

export class IsolationFailed extends Error {
  constructor(readonly leaks: number) {
    super(`isolation failed: ${leaks} turn(s) of another user found in the product's contexts`);
    this.name = 'IsolationFailed';
  }
}

/** Throws IsolationFailed (the command then exits 1) when any product context held another user's turn. */
export function assertIsolated(meta: { leaks: number }): void {
  if (meta.leaks > 0) throw new IsolationFailed(meta.leaks);
}

/** Reads the baseline, reports the comparison, and throws GateFailed (the command then exits 1) on a regression. */
export async function enforceBaseline(
  file: string,
  current: { results: JsonRow[]; meta?: { suite: string } },
  toleranceText: string,
  io: { stdout: (text: string) => void },
): Promise<void> {
  const tolerance = parseTolerance(toleranceText);
  const baseline = JSON.parse(await readFile(file, 'utf8')) as { results?: JsonRow[]; meta?: { suite?: unknown } };
  if (!Array.isArray(baseline.results)) throw new Error(`${file}: not an eval --json output (no "results" array)`);
  // Rows of one protocol carry the same keys as another's (method, budget, category): never compare across them.
  const suite = baseline.meta?.suite;
  if (current.meta && typeof suite === 'string' && suite !== current.meta.suite)
    throw new Error(`${file}: its meta.suite is not this run's (${current.meta.suite}); compare runs of one protocol`);
  const regressions = compareToBaseline(current, { results: baseline.results }, tolerance);
  if (regressions.length === 0) {
    io.stdout(
      `\nRegression gate: ${baseline.results.length} baseline rows, every score within ${tolerance} of ${file}\n`,
    );
    return;
  }
  const lines = regressions.map((r) =>
    r.metric === 'missing'
      ? `  ${r.row}: missing from this run`
      : `  ${r.row} ${r.metric}: ${r.current!.toFixed(4)} < baseline ${r.baseline.toFixed(4)} − ${tolerance}`,
  );
  io.stdout(`\nRegression gate FAILED against ${file}:\n${lines.join('\n')}\n`);
  throw new GateFailed(regressions);
}
