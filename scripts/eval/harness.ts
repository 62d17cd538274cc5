// A suite's cases end to end: write each case's turns through the product, let compression finish before each probe,
// query at every budget, and score the product and both baselines on the same turns (LoCoMo, cross-session, τ-bench).
import { getTokenizer } from '../../src/tokenizer.js';
import { bm25Context, buildBaselineIndex, recencyContext, type BaselineDoc, type BaselineIndex } from './baselines.js';
import {
  compactionCount,
  inSession,
  openSession,
  queryProduct,
  startProduct,
  writeStep,
  type EvalEmbeddings,
  type Product,
  type ProductSession,
  type SessionOwner,
  type WriteTurn,
} from './product.js';
import { countLeaks, scoreContext, summarize, type ForeignTurns, type Sample, type Summary } from './score.js';

export const methods = ['product', 'recency', 'bm25'] as const;
export type Method = (typeof methods)[number];
export const suites = ['locomo', 'tau', 'locomo-cross-session'] as const;
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
  /** The product session queried, when not the case's own (a session written by an earlier step). */
  session?: string;
}

export interface WriteStep {
  write: EvalTurn[];
  label: string;
  /** The product session written, when not the case's own; `owner` goes with its writes (set by the first). */
  session?: string;
  owner?: SessionOwner;
  /** Another user's turns: written to the product, never part of the baselines' turns. */
  foreign?: boolean;
  /** No progress line for this write (one per question would flood the log). */
  quiet?: boolean;
}

export type CaseStep = WriteStep | { probe: Probe };

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
  /** Another user's turns the case writes: any of them in a product context is a leak. */
  foreign?: ForeignTurns;
}

export interface ResultRow extends Summary {
  method: Method;
  budget: number;
  /** Present on per-category rows; absent on the overall row. */
  category?: number;
  /** Another user's turns found in these contexts (suites with a `foreign` user only). */
  leaks?: number;
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
  /** Another user's turns found in the product's contexts, over all probes and budgets; must be 0. */
  leaks: number;
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
  /** Called after the last case, before the product closes (tests read its store). */
  beforeClose?: (product: Product) => Promise<void>;
  /** Called with each of the product's scored answers (`--details`). */
  onAnswer?: (a: AnswerDetail) => void;
}

/** One of the product's scored answers: which probe, at which budget, and which expected strings it missed. */
export interface AnswerDetail {
  case: string;
  /** The probe's position in its case, from 1. */
  probe: number;
  query: string | undefined;
  category?: number;
  budget: number;
  tokens: number;
  recall: number;
  /** How many strings the probe expects, and those not found in the context, in the probe's order. */
  expected: number;
  missed: string[];
  ms: number;
}

export async function runEval(opts: EvalOptions): Promise<EvalReport> {
  const started = performance.now();
  const tok = await getTokenizer();
  const count = (text: string) => tok.count(text);
  const product = await startProduct({ embeddings: opts.embeddings });
  const startupMs = performance.now() - started;
  const samples = new Map<string, (Sample & { category?: number; leaks?: number })[]>();
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
    leaks: 0,
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
      // This user's sessions (the case's own unless steps name others), for the compaction count.
      const own = new Map<string, ProductSession>();
      const at = (id: string | undefined) => (id === undefined ? session : inSession(session, id));
      const written: BaselineDoc[] = [];
      let index: BaselineIndex | undefined;
      // Token counts of baseline lines, kept while the index is rebuilt after each write.
      const lineTokens = new Map<string, number>();
      const countLine = (text: string) => lineTokens.get(text) ?? lineTokens.set(text, count(text)).get(text)!;
      let ingestMs = 0;
      let compressionMs = 0;
      let pendingDrain = false;
      let loud = false;
      let probeNumber = 0;
      for (const step of c.steps) {
        if ('write' in step) {
          if (!pendingDrain && !step.quiet) report(i, c, 'ingest');
          loud ||= !step.quiet;
          const t0 = performance.now();
          const target = await writeStep(product, session, step, `${c.name} ${step.label}`);
          ingestMs += performance.now() - t0;
          if (!step.foreign) {
            own.set(target.sessionId, target);
            written.push(...step.write.map((t) => t.baseline));
            index = undefined;
          }
          pendingDrain = true;
          continue;
        }
        if (pendingDrain) {
          if (loud) report(i, c, 'compress');
          const t0 = performance.now();
          await product.deps.queue.drain();
          compressionMs += performance.now() - t0;
          pendingDrain = false;
          if (loud) report(i, c, 'query');
          loud = false;
        }
        index ??= buildBaselineIndex(written, countLine);
        const q = step.probe;
        probeNumber += 1;
        const truth = { evidence: q.expected, answer: q.answer };
        const tag = q.category === undefined ? {} : { category: q.category };
        for (const budget of opts.budgets) {
          const answer = await queryProduct(product, at(q.session), q.query, budget);
          meta.query_ms_total += answer.ms;
          // Another user's turns in a context; the baselines are checked too (they must never see those turns).
          const leaked = (text: string) => (c.foreign ? { leaks: countLeaks(text, c.foreign) } : {});
          const isolation = leaked(answer.text);
          meta.leaks += isolation.leaks ?? 0;
          const score = scoreContext(answer.text, truth, budget, count);
          bucket('product', budget).push({ score, ms: answer.ms, ...tag, ...isolation });
          opts.onAnswer?.({
            case: c.name,
            probe: probeNumber,
            query: q.query,
            ...tag,
            budget,
            tokens: score.tokens,
            recall: score.evidenceRecall,
            expected: q.expected.length,
            missed: score.missed,
            ms: answer.ms,
          });

          let t = performance.now();
          const recent = recencyContext(index, budget, count);
          let ms = performance.now() - t;
          const recencyScore = scoreContext(recent.text, truth, budget, count);
          bucket('recency', budget).push({ score: recencyScore, ms, ...tag, ...leaked(recent.text) });

          t = performance.now();
          const lexical = bm25Context(index, q.query ?? '', budget, count);
          ms = performance.now() - t;
          const bm25Score = scoreContext(lexical.text, truth, budget, count);
          bucket('bm25', budget).push({ score: bm25Score, ms, ...tag, ...leaked(lexical.text) });
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
        compactions: await sumCompactions(product, own.size > 0 ? [...own.values()] : [session]),
      });
      meta.turns += c.turns;
      meta.missing_evidence_ids += c.missingExpected;
      meta.unscorable_questions += c.unscorable;
      report(i, c, 'done');
    }
    meta.dead_letter_jobs = product.deps.queue.deadLetters.length;
    meta.tool_result_compression_ratio = histogramMean(
      product.deps.metrics?.render() ?? '',
      'tool_result_compression_ratio',
    );
    await opts.beforeClose?.(product);
  } finally {
    await product.close();
  }

  const results: ResultRow[] = [];
  const isolated = opts.cases.some((c) => c.foreign);
  const row = (list: (Sample & { leaks?: number })[]) =>
    isolated ? { ...summarize(list), leaks: list.reduce((n, s) => n + (s.leaks ?? 0), 0) } : summarize(list);
  for (const budget of opts.budgets) {
    for (const method of methods) {
      const all = samples.get(`${method}@${budget}`) ?? [];
      results.push({ method, budget, ...row(all) });
      for (const category of opts.categories ?? []) {
        results.push({ method, budget, category, ...row(all.filter((s) => s.category === category)) });
      }
    }
  }
  meta.elapsed_ms = Math.round(performance.now() - started);
  meta.query_ms_total = Math.round(meta.query_ms_total);
  return { results, meta };
}

async function sumCompactions(product: Product, sessions: ProductSession[]): Promise<number> {
  let n = 0;
  for (const s of sessions) n += await compactionCount(product, s);
  return n;
}

/** Sum over count of an unlabelled histogram in Prometheus text, rounded to 3 places; null when it is empty. */
export function histogramMean(text: string, name: string): number | null {
  const value = (suffix: string) => Number(text.match(new RegExp(`^${name}_${suffix} (\\S+)$`, 'm'))?.[1] ?? NaN);
  const count = value('count');
  return count > 0 ? Math.round((value('sum') / count) * 1000) / 1000 : null;
}
