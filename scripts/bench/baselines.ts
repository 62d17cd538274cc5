// The two reference methods in process on the same session, recency and BM25 over turns, packed into the same budget
// by the eval's own code (scripts/eval/baselines.ts). Their "write" is indexing a turn: its line, tokens and postings.
import { bm25Context, recencyContext, type BaselineIndex } from '../eval/baselines.js';
import { Bm25 } from '../eval/bm25.js';
import { getTokenizer } from '../../src/tokenizer.js';
import { baselineLine, sessionTurns, warmUpQuestions, type BenchTurn, type Corpus } from './data.js';
import { result, type Result } from './report.js';
import { cpuMs, peakRssMb, percentile, rssMb } from './stats.js';

export interface BaselineOptions {
  kind: 'recency' | 'bm25';
  corpus: Corpus;
  /** Session sizes, measured in this order in this process (peak RSS is the peak so far, as for the product). */
  sizes: number[];
  queries: number;
  warmQueries: number;
  /** Queries on a 500-turn index before any measurement, as the product's warm-up asks. */
  warmUpQueries: number;
  budget: number;
  log: (line: string) => void;
}

export async function runBaseline(o: BaselineOptions): Promise<Result[]> {
  const tok = await getTokenizer();
  const count = (text: string) => tok.count(text);
  warmUpBaseline(o.kind, o, count);
  const out: Result[] = [];
  for (const size of o.sizes) out.push(...measureSize(o, size, count));
  return out;
}

/** A session's index as the baselines keep it: each turn's line, its tokens, and BM25 postings for `bm25`. */
export function baselineIndex(
  kind: BaselineOptions['kind'],
  turns: readonly BenchTurn[],
  count: (text: string) => number,
): BaselineIndex {
  const items = turns.map((t, order) => {
    const line = baselineLine(t);
    return { order, line, tokens: count(`${line}\n`) };
  });
  return { items, bm25: new Bm25(kind === 'bm25' ? turns.map((t) => t.content) : []) };
}

/** The product's warm-up (see warmUp in ./product.ts) for a baseline: the same questions on a 500-turn index. */
export function warmUpBaseline(
  kind: BaselineOptions['kind'],
  o: Pick<BaselineOptions, 'corpus' | 'queries' | 'warmUpQueries' | 'budget'>,
  count: (text: string) => number,
): void {
  const index = baselineIndex(kind, [...sessionTurns(o.corpus, 500)], count);
  for (const q of warmUpQuestions(o.corpus.questions, o.queries, o.warmUpQueries))
    if (kind === 'recency') recencyContext(index, o.budget, count);
    else bm25Context(index, q, o.budget, count);
}

function measureSize(o: BaselineOptions, size: number, count: (text: string) => number): Result[] {
  const out: Result[] = [];
  const add = (metric: Parameters<typeof result>[2], value: number) => out.push(result(o.kind, size, metric, value));
  add('rss_before_mb', rssMb());

  // Generating the session is the input arriving, not indexing: it stays outside the timed part.
  const turns = [...sessionTurns(o.corpus, size)];
  const t0 = performance.now();
  const cpu0 = cpuMs();
  const index = baselineIndex(o.kind, turns, count);
  const buildMs = performance.now() - t0;
  const buildCpuMs = cpuMs() - cpu0;
  add('write_turns_per_s', size / (buildMs / 1000));
  add('write_cpu_turns_per_s', size / (buildCpuMs / 1000));
  add('build_s', buildMs / 1000);

  const answer =
    o.kind === 'recency'
      ? (_q: string) => recencyContext(index, o.budget, count)
      : (q: string) => bm25Context(index, q, o.budget, count);
  const questions = o.corpus.questions.slice(0, o.queries);
  const cold: number[] = [];
  const coldCpu: number[] = [];
  for (const q of questions) {
    const s = performance.now();
    const c = cpuMs();
    const packed = answer(q);
    coldCpu.push(cpuMs() - c);
    cold.push(performance.now() - s);
    if (packed.tokens > o.budget)
      throw new Error(`${o.kind} packed ${packed.tokens} tokens into a ${o.budget}-token budget`);
  }
  add('query_p50_ms', percentile(cold, 50));
  add('query_p95_ms', percentile(cold, 95));
  add('query_p99_ms', percentile(cold, 99));
  add('query_cpu_p50_ms', percentile(coldCpu, 50));
  add('query_cpu_p95_ms', percentile(coldCpu, 95));

  // No cache: a repeated question costs what it cost the first time (minus warmer CPU caches).
  const repeated = questions.slice(0, Math.min(20, questions.length));
  const warm: number[] = [];
  for (let i = 0; i < o.warmQueries; i++) {
    const s = performance.now();
    answer(repeated[i % repeated.length]!);
    warm.push(performance.now() - s);
  }
  add('query_warm_p50_ms', percentile(warm, 50));
  add('query_warm_p95_ms', percentile(warm, 95));
  add('peak_rss_mb', peakRssMb());
  o.log(
    `${o.kind} ${size.toLocaleString('en-US')}: indexed in ${buildMs.toFixed(0)} ms; query p50 ${percentile(cold, 50).toFixed(1)} ms, p95 ${percentile(cold, 95).toFixed(1)} ms`,
  );
  return out;
}
