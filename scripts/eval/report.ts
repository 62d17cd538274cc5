// Tables per budget and the --json document. τ-bench reports `value_retention` where LoCoMo reports `evidence_recall`
// (and has no answer-hit column); LoCoMo across sessions adds `leaks`: another user's turns found in contexts.
import type { EvalReport, ResultRow } from './harness.js';

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));

export function formatTables(report: EvalReport): string {
  const tau = report.meta.suite === 'tau';
  const leaks = report.meta.suite === 'locomo-cross-session';
  const budgets = [...new Set(report.results.map((r) => r.budget))];
  const header = tau
    ? ['method', 'category', 'steps', 'value retention', 'all values', 'over budget', 'p50 ms', 'p95 ms']
    : [
        'method',
        'category',
        'questions',
        'evidence recall',
        'all evidence',
        'answer hit',
        'over budget',
        ...(leaks ? ['leaks'] : []),
        'p50 ms',
        'p95 ms',
      ];
  const out: string[] = [];
  for (const budget of budgets) {
    const rows = report.results
      .filter((r) => r.budget === budget)
      .map((r) => [
        r.method,
        r.category === undefined ? 'all' : String(r.category),
        String(r.questions),
        pct(r.evidence_recall),
        pct(r.all_evidence),
        ...(tau ? [] : [pct(r.answer_hit)]),
        String(r.over_budget),
        ...(leaks ? [String(r.leaks ?? 0)] : []),
        ms(r.p50_ms),
        ms(r.p95_ms),
      ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
    out.push(
      `Budget ${budget} tokens`,
      line(header),
      `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
      ...rows.map(line),
      '',
    );
  }
  return out.join('\n');
}

export type JsonRow = Omit<ResultRow, 'evidence_recall' | 'answer_hit'> & {
  evidence_recall?: number;
  value_retention?: number;
  answer_hit?: number;
};

/** Overall rows first (the documented shape), then the per-category rows with a `category` field. */
export function toJson(report: EvalReport): { results: JsonRow[]; meta: EvalReport['meta'] } {
  const tau = report.meta.suite === 'tau';
  const leaks = report.meta.suite === 'locomo-cross-session';
  const round = ({ evidence_recall, answer_hit, ...r }: ResultRow): JsonRow => ({
    method: r.method,
    budget: r.budget,
    ...(r.category === undefined ? {} : { category: r.category }),
    questions: r.questions,
    ...(tau
      ? { value_retention: Number(evidence_recall.toFixed(6)) }
      : { evidence_recall: Number(evidence_recall.toFixed(6)) }),
    all_evidence: Number(r.all_evidence.toFixed(6)),
    ...(tau ? {} : { answer_hit: Number(answer_hit.toFixed(6)) }),
    over_budget: r.over_budget,
    ...(leaks ? { leaks: r.leaks ?? 0 } : {}),
    p50_ms: Number(r.p50_ms.toFixed(3)),
    p95_ms: Number(r.p95_ms.toFixed(3)),
  });
  const overall = report.results.filter((r) => r.category === undefined);
  const perCategory = report.results.filter((r) => r.category !== undefined);
  return { results: [...overall, ...perCategory].map(round), meta: report.meta };
}
