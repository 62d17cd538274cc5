// A suite's cases end to end: write each case's turns through the product in order, let compression finish before
// each scored probe, query the product at every budget, and score the product and both baselines on the same
// turns. LoCoMo (questions after a whole conversation) and τ-bench (a probe before each tool-calling step) are two
// ways of laying out the same steps.
import { getTokenizer } from '../../src/tokenizer.js';
import { bm25Context, buildBaselineIndex, recencyContext, type BaselineDoc, type BaselineIndex } from './baselines.js';
import { compactionCount, openSession, queryProduct, startProduct, writeBatch, type EvalEmbeddings, type WriteTurn } from './product.js';
import { scoreContext, summarize, type Sample, type Summary } from './score.js';

export const methods = ['product', 'recency', 'bm25'] as const;
export type Method = (typeof methods)[number];
export const suites = ['locomo', 'tau'] as const;
export type SuiteName = (typeof suites)[number];

/** A turn as written to the product, with what the baselines render and index for it. */
export interface EvalTurn {
  write: WriteTurn;
  baseline: BaselineDoc;
}

/** One scored query: the strings that must appear verbatim in the context, and an answer when there is one. */
export interface Probe {
  query: string | undefined;
  expected: string[];
  answer?: string;
  category?: number;
}

export type CaseStep = { write: EvalTurn[]; label: string } | { probe: Probe };

export interface EvalCase {
  name: string;
  /** The product session id (a fresh tenant per case, so it only has to be readable). */
  sessionId: string;
  steps: CaseStep[];
  turns: number;
  sessions: number;
  /** Expected-string ids that name nothing in the case; skipped when scoring (LoCoMo evidence typos). */
  missingExpected: number;
  /** Probes left out because nothing they expect can be found in the case. */
  unscorable: number;
}

export interface ResultRow extends Summary {
  method: Method;
  budget: number;
  /** Present on per-category rows; absent on the overall row. */
  category?: number;
}

export interface EvalMeta {
  suite: SuiteName;
  conversations: {
    name: string;
    turns: number;
    sessions: number;
    questions: number;
    ingest_ms: number;
    /** Time spent waiting for the compression queue to drain after writes. */
    compression_ms: number;
    compactions: number;
  }[];
  turns: number;
  /** Scored probes: LoCoMo questions of category 1–4, or τ-bench scored steps. */
  questions: number;
  /** Expected strings over all probes (evidence turns or required values). */
  expected: number;
  /** Evidence ids that name no turn of their conversation; skipped when scoring. */
  missing_evidence_ids: number;
  /** Probes left out because none of their evidence names a turn. */
  unscorable_questions: number;
  /** Compression jobs that failed for good; non-zero means the product did not run as in production. */
  dead_letter_jobs: number;
  /** Tokenizer load, embedded database start and migrations. */
  startup_ms: number;
  /**
   * Mean of the product's `tool_result_compression_ratio` over the tool results it placed in contexts: tokens
   * shown over tokens stored (1: whole). Null when no context held a tool result.
   */
  tool_result_compression_ratio: number | null;
  elapsed_ms: number;
  query_ms_total: number;
}

export interface EvalReport {
  results: ResultRow[];
  meta: EvalMeta;
}

export interface Progress {
  conversation: number;
  conversations: number;
  name: string;
  phase: 'ingest' | 'compress' | 'query' | 'done';
  questionsDone: number;
  questionsTotal: number;
  elapsedMs: number;
}

export interface EvalOptions {
  suite: SuiteName;
  cases: EvalCase[];
  budgets: number[];
  /** Category values reported in their own rows (LoCoMo 1–4); none for suites without categories. */
  categories?: readonly number[];
  onProgress?: (p: Progress) => void;
  /** Measure with a remote embedding model instead of the offline default. */
  embeddings?: EvalEmbeddings;
}

export async function runEval(opts: EvalOptions): Promise<EvalReport> {
  const started = performance.now();
  const tok = await getTokenizer();
  const count = (text: string) => tok.count(text);
  const product = await startProduct({ embeddings: opts.embeddings });
  const startupMs = performance.now() - started;
  const samples = new Map<string, (Sample & { category?: number })[]>();
  const bucket = (m: Method, b: number) => {
    const key = `${m}@${b}`;
    let list = samples.get(key);
    if (!list) samples.set(key, (list = []));
    return list;
  };

  const probesOf = (c: EvalCase) => c.steps.filter((s): s is { probe: Probe } => 'probe' in s).map((s) => s.probe);
  const questionsTotal = opts.cases.reduce((n, c) => n + probesOf(c).length, 0);
  const meta: EvalMeta = {
    suite: opts.suite,
    conversations: [],
    turns: 0,
    questions: questionsTotal,
    expected: opts.cases.reduce((n, c) => n + probesOf(c).reduce((m, p) => m + p.expected.length, 0), 0),
    missing_evidence_ids: 0,
    unscorable_questions: 0,
    dead_letter_jobs: 0,
    startup_ms: Math.round(startupMs),
    tool_result_compression_ratio: null,
    elapsed_ms: 0,
    query_ms_total: 0,
  };
  let questionsDone = 0;
  const report = (i: number, c: EvalCase, phase: Progress['phase']) =>
    opts.onProgress?.({
      conversation: i + 1,
      conversations: opts.cases.length,
      name: c.name,
      phase,
      questionsDone,
      questionsTotal,
      elapsedMs: performance.now() - started,
    });

  try {
    for (const [i, c] of opts.cases.entries()) {
      const session = await openSession(product, c.sessionId, i + 1);
      const written: BaselineDoc[] = [];
      let index: BaselineIndex | undefined;
      let ingestMs = 0;
      let compressionMs = 0;
      let pendingDrain = false;
      for (const step of c.steps) {
        if ('write' in step) {
          if (!pendingDrain) report(i, c, 'ingest');
          const t0 = performance.now();
          await writeBatch(product, session, step.write.map((t) => t.write), `${c.name} ${step.label}`);
          ingestMs += performance.now() - t0;
          written.push(...step.write.map((t) => t.baseline));
          index = undefined;
          pendingDrain = true;
          continue;
        }
        if (pendingDrain) {
          report(i, c, 'compress');
          const t0 = performance.now();
          await product.deps.queue.drain();
          compressionMs += performance.now() - t0;
          pendingDrain = false;
          report(i, c, 'query');
        }
        index ??= buildBaselineIndex(written, count);
        const q = step.probe;
        const truth = { evidence: q.expected, answer: q.answer };
        const tag = q.category === undefined ? {} : { category: q.category };
        for (const budget of opts.budgets) {
          const answer = await queryProduct(product, session, q.query, budget);
          meta.query_ms_total += answer.ms;
          bucket('product', budget).push({ score: scoreContext(answer.text, truth, budget, count), ms: answer.ms, ...tag });

          let t = performance.now();
          const recent = recencyContext(index, budget, count);
          let ms = performance.now() - t;
          bucket('recency', budget).push({ score: scoreContext(recent.text, truth, budget, count), ms, ...tag });

          t = performance.now();
          const lexical = bm25Context(index, q.query ?? '', budget, count);
          ms = performance.now() - t;
          bucket('bm25', budget).push({ score: scoreContext(lexical.text, truth, budget, count), ms, ...tag });
        }
        questionsDone += 1;
        if (questionsDone % 10 === 0) report(i, c, 'query');
      }
      if (pendingDrain) {
        const t0 = performance.now();
        await product.deps.queue.drain();
        compressionMs += performance.now() - t0;
      }
      meta.conversations.push({
        name: c.name,
        turns: c.turns,
        sessions: c.sessions,
        questions: probesOf(c).length,
        ingest_ms: Math.round(ingestMs),
        compression_ms: Math.round(compressionMs),
        compactions: await compactionCount(product, session),
      });
      meta.turns += c.turns;
      meta.missing_evidence_ids += c.missingExpected;
      meta.unscorable_questions += c.unscorable;
      report(i, c, 'done');
    }
    meta.dead_letter_jobs = product.deps.queue.deadLetters.length;
    meta.tool_result_compression_ratio = histogramMean(product.deps.metrics?.render() ?? '', 'tool_result_compression_ratio');
  } finally {
    await product.close();
  }

  const results: ResultRow[] = [];
  for (const budget of opts.budgets) {
    for (const method of methods) {
      const all = samples.get(`${method}@${budget}`) ?? [];
      results.push({ method, budget, ...summarize(all) });
      for (const category of opts.categories ?? []) {
        results.push({ method, budget, category, ...summarize(all.filter((s) => s.category === category)) });
      }
    }
  }
  meta.elapsed_ms = Math.round(performance.now() - started);
  meta.query_ms_total = Math.round(meta.query_ms_total);
  return { results, meta };
}

/** Sum over count of an unlabelled histogram in Prometheus text, rounded to 3 places; null when it is empty. */
export function histogramMean(text: string, name: string): number | null {
  const value = (suffix: string) => Number(text.match(new RegExp(`^${name}_${suffix} (\\S+)$`, 'm'))?.[1] ?? NaN);
  const count = value('count');
  return count > 0 ? Math.round((value('sum') / count) * 1000) / 1000 : null;
}
