// Result rows, the JSON document and the Markdown table. Every measurement is one row
// { case, turns, metric, value, unit }, so runs on different machines or databases can be diffed line by line.
import { round } from './stats.js';

export const cases = ['product', 'recency', 'bm25'] as const;
export type Case = (typeof cases)[number];

/** Known metrics, in table order, with their unit and whether a larger value is better. */
export const metrics = {
  write_turns_per_s: { unit: 'turns/s', higherIsBetter: true, what: 'writes in batches of 100' },
  write_cpu_turns_per_s: {
    unit: 'turns/s',
    higherIsBetter: true,
    what: 'turns per CPU-second of the process while writing in batches of 100 (background jobs included)',
  },
  write_batch1_turns_per_s: { unit: 'turns/s', higherIsBetter: true, what: 'writes of one turn per request' },
  query_p50_ms: { unit: 'ms', higherIsBetter: false, what: 'QueryContext, distinct queries (cache miss)' },
  query_p95_ms: { unit: 'ms', higherIsBetter: false, what: 'QueryContext, distinct queries (cache miss)' },
  query_p99_ms: { unit: 'ms', higherIsBetter: false, what: 'QueryContext, distinct queries (cache miss)' },
  query_cpu_p50_ms: {
    unit: 'ms',
    higherIsBetter: false,
    what: 'CPU time of the process per distinct query (robust to other load)',
  },
  query_cpu_p95_ms: {
    unit: 'ms',
    higherIsBetter: false,
    what: 'CPU time of the process per distinct query (robust to other load)',
  },
  query_warm_p50_ms: { unit: 'ms', higherIsBetter: false, what: 'QueryContext, repeated queries (cache hit)' },
  query_warm_p95_ms: { unit: 'ms', higherIsBetter: false, what: 'QueryContext, repeated queries (cache hit)' },
  compress_200_ms: {
    unit: 'ms',
    higherIsBetter: false,
    what: 'extractive summary of a 200-turn window (compressor only)',
  },
  rebuild_200_ms: {
    unit: 'ms',
    higherIsBetter: false,
    what: 'RebuildContext of a 200-turn session until the summary is stored',
  },
  compaction_p95_ms: {
    unit: 'ms',
    higherIsBetter: false,
    what: 'background compactions during the build (audit duration_ms)',
  },
  tokenizer_tokens_per_s: {
    unit: 'tokens/s',
    higherIsBetter: true,
    what: 'o200k counting, fresh process (cold piece memo)',
  },
  tokenizer_warm_tokens_per_s: {
    unit: 'tokens/s',
    higherIsBetter: true,
    what: 'o200k counting, second pass (warm piece memo)',
  },
  tiktoken_encode_tokens_per_s: {
    unit: 'tokens/s',
    higherIsBetter: true,
    what: 'plain js-tiktoken encode(), for reference',
  },
  build_s: { unit: 's', higherIsBetter: false, what: 'session build: all writes plus draining background compaction' },
  rss_before_mb: {
    unit: 'MB',
    higherIsBetter: false,
    what: 'resident set before this size was built (start-up and smaller sizes)',
  },
  peak_rss_mb: { unit: 'MB', higherIsBetter: false, what: 'peak resident set of the process that ran the case' },
  // One user's sessions with one agent (`turns` = sessions × turns per session), each question from a new session.
  user_write_turns_per_s: { unit: 'turns/s', higherIsBetter: true, what: "the user's sessions, a request each" },
  user_build_s: { unit: 's', higherIsBetter: false, what: "the user's sessions: all writes, then background jobs" },
  user_query_p50_ms: { unit: 'ms', higherIsBetter: false, what: 'QueryContext in a new session of the user' },
  user_query_p95_ms: { unit: 'ms', higherIsBetter: false, what: 'QueryContext in a new session of the user' },
  user_query_p99_ms: { unit: 'ms', higherIsBetter: false, what: 'QueryContext in a new session of the user' },
  user_query_cpu_p50_ms: { unit: 'ms', higherIsBetter: false, what: 'CPU time of the process per new-session query' },
  user_query_cpu_p95_ms: { unit: 'ms', higherIsBetter: false, what: 'CPU time of the process per new-session query' },
  user_recalled_turns: { unit: 'turns', higherIsBetter: true, noRatio: true, what: "other sessions' turns per answer" },
  user_recall_answers_pct: { unit: '%', higherIsBetter: true, noRatio: true, what: 'answers with any' },
  user_peak_rss_mb: { unit: 'MB', higherIsBetter: false, what: 'peak resident set of the user case process' },
} as const;
export type Metric = keyof typeof metrics;

export interface Result {
  case: Case;
  turns: number;
  metric: Metric;
  value: number;
  unit: string;
}

export function result(c: Case, turns: number, metric: Metric, value: number): Result {
  return { case: c, turns, metric, value: round(value), unit: metrics[metric].unit };
}

export interface BenchMeta {
  started_at: string;
  elapsed_s: number;
  quick: boolean;
  database: string;
  budget_tokens: number;
  machine: { nproc: number; cpu: string; ram_gb: number; node: string; loadavg_start: number[]; loadavg_end: number[] };
  /** The code measured: HEAD plus a fingerprint of uncommitted changes, since results depend on the working tree. */
  code: { head: string; changed_files: number; diff_sha256: string };
  notes: string[];
}

export interface BenchJson {
  results: Result[];
  meta?: BenchMeta;
}

/** Throws unless `doc` has the documented shape; used by the tests and before writing --json. */
export function assertBenchJson(doc: unknown): asserts doc is BenchJson {
  if (!doc || typeof doc !== 'object' || !Array.isArray((doc as BenchJson).results))
    throw new Error('expected { results: [...] }');
  for (const [i, r] of (doc as BenchJson).results.entries()) {
    const where = `results[${i}]`;
    if (!(cases as readonly string[]).includes(r.case)) throw new Error(`${where}.case: ${JSON.stringify(r.case)}`);
    if (!Number.isInteger(r.turns) || r.turns <= 0) throw new Error(`${where}.turns: ${JSON.stringify(r.turns)}`);
    if (!(r.metric in metrics)) throw new Error(`${where}.metric: ${JSON.stringify(r.metric)}`);
    if (typeof r.value !== 'number' || !Number.isFinite(r.value))
      throw new Error(`${where}.value: ${JSON.stringify(r.value)}`);
    if (r.unit !== metrics[r.metric].unit) throw new Error(`${where}.unit: ${JSON.stringify(r.unit)}`);
  }
}

/**
 * Targets for the embedded default; `bm25` is the same metric of the run's in-process BM25, which the query latency
 * targets are relative to (none without it). Undefined where no target applies.
 */
export function target(
  metric: Metric,
  turns: number,
  bm25?: number,
): { text: string; check: (v: number) => boolean } | undefined {
  const relative = (factor: number) =>
    bm25 === undefined
      ? undefined
      : {
          text: `≤ ${factor === 1 ? '' : `${factor} × `}bm25 (${fmt(factor * bm25)})`,
          check: (v: number) => v <= factor * bm25,
        };
  switch (metric) {
    case 'query_p95_ms':
      if (turns === 10_000) return relative(2);
      if (turns === 100_000) return relative(1);
      return undefined;
    case 'query_cpu_p50_ms':
      return turns === 1_000 || turns === 10_000 ? { text: '≤ 5', check: (v) => v <= 5 } : undefined;
    case 'query_warm_p95_ms':
      return { text: '≤ 2', check: (v) => v <= 2 };
    case 'write_turns_per_s':
      return { text: '≥ 2,000', check: (v) => v >= 2000 };
    case 'compress_200_ms':
      return { text: '≤ 200', check: (v) => v <= 200 };
    case 'peak_rss_mb':
      return turns === 100_000 ? { text: '≤ 500', check: (v) => v <= 500 } : undefined;
    case 'user_query_p95_ms':
      if (turns === 10_000) return { text: '≤ 25', check: (v) => v <= 25 };
      if (turns === 100_000) return { text: '≤ 60', check: (v) => v <= 60 };
      return undefined;
    default:
      return undefined;
  }
}

const fmt = (v: number | undefined) => (v === undefined ? '–' : round(v).toLocaleString('en-US'));

/** product ÷ baseline, written so that > 1 always reads "the product is that many times better". */
function advantage(metric: Metric, product: number | undefined, baseline: number | undefined): string {
  if (product === undefined || baseline === undefined || product <= 0 || baseline <= 0) return '–';
  if ('noRatio' in metrics[metric]) return '–'; // a count, not a cost: more is not simply better
  const better = metrics[metric].higherIsBetter ? product / baseline : baseline / product;
  return better >= 1 ? `${round(better)}× better` : `${round(1 / better)}× worse`;
}

/** One Markdown table: a row per (turns, metric), a column per case, the product's standing against each baseline. */
export function formatTable(results: readonly Result[]): string {
  const sizes = [...new Set(results.map((r) => r.turns))].sort((a, b) => a - b);
  const order = Object.keys(metrics) as Metric[];
  const lines = [
    '| turns | metric | unit | product | recency | bm25 | product vs recency | product vs bm25 | target (product) |',
    '|---:|---|---|---:|---:|---:|---|---|---|',
  ];
  for (const turns of sizes) {
    for (const metric of order) {
      const of = (c: Case, m: Metric = metric) =>
        results.find((r) => r.turns === turns && r.metric === m && r.case === c)?.value;
      const [p, rec, bm] = [of('product'), of('recency'), of('bm25')];
      if (p === undefined && rec === undefined && bm === undefined) continue;
      const t = target(metric, turns, bm);
      // A new-session latency without any turn of the other sessions in its answers is not the case's target yet.
      const recalled = of('product', 'user_recalled_turns');
      const vacuous = metric.startsWith('user_query') && recalled === 0;
      const met = (v: number) => (vacuous ? '⚠️ void: no recall across sessions' : t!.check(v) ? '✅ met' : '❌ missed');
      const verdict = t && p !== undefined ? `${t.text} ${met(p)}` : '';
      lines.push(
        `| ${turns.toLocaleString('en-US')} | ${metric} | ${metrics[metric].unit} | ${fmt(p)} | ${fmt(rec)} | ${fmt(bm)} | ` +
          `${advantage(metric, p, rec)} | ${advantage(metric, p, bm)} | ${verdict} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
