// Prometheus metrics (text exposition format 0.0.4), written here rather than taken from prom-client so they run
// unchanged in Workers, where each isolate keeps its own numbers.
import type { QueryContextResponse, SectionName } from './schemas/context.js';

type Labels = Record<string, string>;

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Number.isNaN(n)) return 'NaN';
  return String(n);
}

function labelText(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const pairs = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

abstract class Metric<S> {
  protected readonly series = new Map<string, { values: string[]; state: S }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  protected abstract fresh(): S;
  abstract readonly type: 'counter' | 'histogram';
  protected abstract lines(labels: string[], state: S): string[];

  protected stateFor(labels: Labels): S {
    const values = this.labelNames.map((n) => {
      const v = labels[n];
      if (v === undefined) throw new Error(`metric ${this.name}: missing label "${n}"`);
      return v;
    });
    const key = JSON.stringify(values);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { values, state: this.fresh() };
      this.series.set(key, entry);
    }
    return entry.state;
  }

  render(): string {
    const out = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const { values, state } of this.series.values()) out.push(...this.lines(values, state));
    return out.join('\n');
  }
}

export class Counter extends Metric<{ value: number }> {
  readonly type = 'counter';
  protected fresh() {
    return { value: 0 };
  }
  /** Creates the series at zero so a rate over it exists before its first event. */
  init(labels: Labels = {}): void {
    this.stateFor(labels);
  }
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new Error(`metric ${this.name}: a counter only goes up`);
    this.stateFor(labels).value += by;
  }
  get(labels: Labels = {}): number {
    return this.stateFor(labels).value;
  }
  protected lines(values: string[], s: { value: number }) {
    return [`${this.name}${labelText(this.labelNames, values)} ${formatValue(s.value)}`];
  }
}

export class Histogram extends Metric<{ counts: number[]; sum: number; count: number }> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  protected fresh() {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }
  init(labels: Labels = {}): void {
    this.stateFor(labels);
  }
  observe(labels: Labels, value: number): void {
    if (!Number.isFinite(value)) return;
    const s = this.stateFor(labels);
    s.sum += value;
    s.count += 1;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]! += 1;
  }
  protected lines(values: string[], s: { counts: number[]; sum: number; count: number }) {
    const out = this.buckets.map(
      (b, i) => `${this.name}_bucket${labelText(this.labelNames, values, ['le', formatValue(b)])} ${s.counts[i]}`,
    );
    out.push(`${this.name}_bucket${labelText(this.labelNames, values, ['le', '+Inf'])} ${s.count}`);
    out.push(`${this.name}_sum${labelText(this.labelNames, values)} ${formatValue(s.sum)}`);
    out.push(`${this.name}_count${labelText(this.labelNames, values)} ${s.count}`);
    return out;
  }
}

export class Registry {
  readonly contentType = 'text/plain; version=0.0.4; charset=utf-8';
  private readonly metrics = new Map<string, Counter | Histogram>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }
  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }
  private add<M extends Counter | Histogram>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} is registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }
  render(): string {
    return `${[...this.metrics.values()].map((m) => m.render()).join('\n')}\n`;
  }
}

const secondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const ratioBuckets = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

export type CacheResult = 'hit' | 'miss' | 'error';
export type QueueResult = 'ok' | 'retry' | 'dead';

/** What the query service hands over about a kept item; structural so the metrics need no pipeline types. */
export interface KeptItem {
  section: string;
  tokens: number;
  truncated?: boolean;
  payload: { turn?: { token_count: number }; lineFor: (content: string) => string };
}

export function createMetrics() {
  const registry = new Registry();
  const m = {
    registry,
    httpRequestDuration: registry.histogram(
      'http_request_duration_seconds',
      'Time to answer an HTTP request, by route pattern, method and status.',
      ['route', 'method', 'status'],
      secondsBuckets,
    ),
    httpRequests: registry.counter(
      'http_requests_total',
      'HTTP requests answered, by route pattern, method and status (success rate: 2xx over all).',
      ['route', 'method', 'status'],
    ),
    compressionDuration: registry.histogram(
      'context_compression_duration_seconds',
      'Time one compaction of a window took, including the summariser.',
      [],
      [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    compressionRatio: registry.histogram(
      'context_compression_ratio',
      'Tokens after over tokens before of one compaction (lower folds more).',
      [],
      ratioBuckets,
    ),
    cacheRequests: registry.counter(
      'context_cache_requests_total',
      'Lookups of assembled contexts in the cache, by result (hit, miss, error).',
      ['result'],
    ),
    queueJobs: registry.counter(
      'queue_jobs_total',
      'Background job attempts, by result: ok, retry (failed, will run again), dead (gave up).',
      ['result'],
    ),
    queueLag: registry.histogram(
      'queue_lag_seconds',
      'Time a job waited between becoming ready and its handler starting.',
      [],
      [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
    ),
    promptTokens: registry.histogram(
      'context_prompt_tokens',
      'Tokens of each assembled context (rendered text), fresh answers only.',
      [],
      [50, 100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000],
    ),
    overflow: registry.counter(
      'context_overflow_total',
      'Assembled contexts whose candidates did not all fit the budget.',
    ),
    itemsDropped: registry.counter(
      'context_items_dropped_total',
      'Candidates left out of assembled contexts, by section and reason (unlisted: beyond the 50 the budget report lists).',
      ['section', 'reason'],
    ),
    toolResultRatio: registry.histogram(
      'tool_result_compression_ratio',
      'Tokens of a tool result as placed in a context over its stored tokens (1: whole).',
      [],
      ratioBuckets,
    ),
    evaluationScore: registry.histogram(
      'evaluation_overall_score',
      'Overall scores agents reported for contexts (0 to 1).',
      [],
      ratioBuckets,
    ),
    evaluations: registry.counter(
      'evaluation_events_total',
      'Evaluation events, by outcome: all, low_score, task_success, task_failure, tool_error (one event may count in several).',
      ['outcome'],
    ),

    evaluated(score: number, low: boolean, success: boolean | undefined, toolError: boolean): void {
      m.evaluationScore.observe({}, score);
      m.evaluations.inc({ outcome: 'all' });
      if (low) m.evaluations.inc({ outcome: 'low_score' });
      if (success !== undefined) m.evaluations.inc({ outcome: success ? 'task_success' : 'task_failure' });
      if (toolError) m.evaluations.inc({ outcome: 'tool_error' });
    },

    cacheLookup(result: CacheResult): void {
      m.cacheRequests.inc({ result });
    },

    compacted(seconds: number, tokensBefore: number, tokensAfter: number): void {
      m.compressionDuration.observe({}, seconds);
      if (tokensBefore > 0) m.compressionRatio.observe({}, tokensAfter / tokensBefore);
    },

    queueJob(result: QueueResult): void {
      m.queueJobs.inc({ result });
    },

    /** Records a freshly assembled answer: its size, whether it overflowed, what was dropped and why. */
    contextAssembled(
      response: QueryContextResponse,
      kept: readonly KeptItem[],
      countTokens: (text: string) => number,
    ): void {
      const report = response.envelope.budget_report;
      m.promptTokens.observe({}, response.token_count);
      const listed = new Map<SectionName, number>();
      for (const d of report.dropped) {
        m.itemsDropped.inc({ section: d.section, reason: d.reason });
        listed.set(d.section, (listed.get(d.section) ?? 0) + 1);
      }
      let unlisted = 0;
      for (const s of report.sections) {
        const rest = s.dropped - (listed.get(s.section) ?? 0);
        if (rest > 0) {
          m.itemsDropped.inc({ section: s.section, reason: 'unlisted' }, rest);
          unlisted += rest;
        }
      }
      // A duplicate is shown elsewhere in the context, so only other drops mean the budget was too small.
      if (unlisted > 0 || report.dropped.some((d) => d.reason !== 'duplicate')) m.overflow.inc();
      for (const k of kept) {
        if (k.section !== 'tool_findings' || !k.payload.turn || k.payload.turn.token_count <= 0) continue;
        if (!k.truncated) {
          m.toolResultRatio.observe({}, 1);
          continue;
        }
        // The item's tokens include its line prefix and separator; the stored count is of the content alone.
        const shown = k.tokens - 1 - countTokens(k.payload.lineFor(''));
        m.toolResultRatio.observe({}, Math.min(1, Math.max(0, shown / k.payload.turn.token_count)));
      }
    },

    render(): string {
      return registry.render();
    },
  };
  for (const result of ['hit', 'miss', 'error'] as const) m.cacheRequests.init({ result });
  for (const result of ['ok', 'retry', 'dead'] as const) m.queueJobs.init({ result });
  m.overflow.init();
  for (const outcome of ['all', 'low_score', 'task_success', 'task_failure', 'tool_error'])
    m.evaluations.init({ outcome });
  for (const h of [
    m.evaluationScore,
    m.compressionDuration,
    m.compressionRatio,
    m.queueLag,
    m.promptTokens,
    m.toolResultRatio,
  ])
    h.init();
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
