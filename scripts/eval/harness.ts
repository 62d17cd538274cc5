// The LoCoMo protocol end to end: write each conversation through the product, let compression finish, ask every
// category 1–4 question at every budget, and score the product and both baselines on the same turns.
import { getTokenizer } from '../../src/tokenizer.js';
import { bm25Context, buildBaselineIndex, recencyContext } from './baselines.js';
import type { Conversation } from './locomo.js';
import { compactionCount, ingest, queryProduct, startProduct } from './product.js';
import { scoreContext, summarize, type Sample, type Summary } from './score.js';

export const methods = ['product', 'recency', 'bm25'] as const;
export type Method = (typeof methods)[number];
export const categories = [1, 2, 3, 4] as const;

export interface ResultRow extends Summary {
  method: Method;
  budget: number;
  /** Present on per-category rows; absent on the overall row. */
  category?: number;
}

export interface EvalMeta {
  conversations: {
    name: string;
    turns: number;
    sessions: number;
    questions: number;
    ingest_ms: number;
    /** Time spent waiting for the compression queue to drain after the last write. */
    compression_ms: number;
    compactions: number;
  }[];
  turns: number;
  questions: number;
  /** Evidence ids that name no turn of their conversation; skipped when scoring. */
  missing_evidence_ids: number;
  /** Category 1–4 questions left out because none of their evidence names a turn. */
  unscorable_questions: number;
  /** Compression jobs that failed for good; non-zero means the product did not run as in production. */
  dead_letter_jobs: number;
  /** Tokenizer load, embedded database start and migrations. */
  startup_ms: number;
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
  conversations: Conversation[];
  budgets: number[];
  onProgress?: (p: Progress) => void;
}

export async function runEval(opts: EvalOptions): Promise<EvalReport> {
  const started = performance.now();
  const tok = await getTokenizer();
  const count = (text: string) => tok.count(text);
  const product = await startProduct();
  const startupMs = performance.now() - started;
  const samples = new Map<string, (Sample & { category: number })[]>();
  const bucket = (m: Method, b: number) => {
    const key = `${m}@${b}`;
    let list = samples.get(key);
    if (!list) samples.set(key, (list = []));
    return list;
  };

  const questionsTotal = opts.conversations.reduce((n, c) => n + c.questions.length, 0);
  const meta: EvalMeta = {
    conversations: [],
    turns: 0,
    questions: questionsTotal,
    missing_evidence_ids: 0,
    unscorable_questions: 0,
    dead_letter_jobs: 0,
    startup_ms: Math.round(startupMs),
    elapsed_ms: 0,
    query_ms_total: 0,
  };
  let questionsDone = 0;
  const report = (i: number, c: Conversation, phase: Progress['phase']) =>
    opts.onProgress?.({
      conversation: i + 1,
      conversations: opts.conversations.length,
      name: c.name,
      phase,
      questionsDone,
      questionsTotal,
      elapsedMs: performance.now() - started,
    });

  try {
    for (const [i, conv] of opts.conversations.entries()) {
      report(i, conv, 'ingest');
      const t0 = performance.now();
      const session = await ingest(product, conv, i + 1);
      const t1 = performance.now();
      report(i, conv, 'compress');
      await product.deps.queue.drain();
      const t2 = performance.now();
      meta.conversations.push({
        name: conv.name,
        turns: conv.turns.length,
        sessions: conv.sessions.length,
        questions: conv.questions.length,
        ingest_ms: Math.round(t1 - t0),
        compression_ms: Math.round(t2 - t1),
        compactions: await compactionCount(product, session),
      });
      meta.turns += conv.turns.length;
      meta.unscorable_questions += conv.unscorable;

      const contentOf = new Map(conv.turns.map((t) => [t.diaId, t.content]));
      const index = buildBaselineIndex(conv.turns, count);
      report(i, conv, 'query');
      for (const q of conv.questions) {
        meta.missing_evidence_ids += q.missingEvidence.length;
        const truth = { evidence: q.evidence.map((id) => contentOf.get(id)!), answer: q.answer };
        for (const budget of opts.budgets) {
          const answer = await queryProduct(product, session, q.question, budget);
          meta.query_ms_total += answer.ms;
          bucket('product', budget).push({ score: scoreContext(answer.text, truth, budget, count), ms: answer.ms, category: q.category });

          let t = performance.now();
          const recent = recencyContext(index, budget, count);
          let ms = performance.now() - t;
          bucket('recency', budget).push({ score: scoreContext(recent.text, truth, budget, count), ms, category: q.category });

          t = performance.now();
          const lexical = bm25Context(index, q.question, budget, count);
          ms = performance.now() - t;
          bucket('bm25', budget).push({ score: scoreContext(lexical.text, truth, budget, count), ms, category: q.category });
        }
        questionsDone += 1;
        if (questionsDone % 10 === 0) report(i, conv, 'query');
      }
      report(i, conv, 'done');
    }
    meta.dead_letter_jobs = product.deps.queue.deadLetters.length;
  } finally {
    await product.close();
  }

  const results: ResultRow[] = [];
  for (const budget of opts.budgets) {
    for (const method of methods) {
      const all = samples.get(`${method}@${budget}`) ?? [];
      results.push({ method, budget, ...summarize(all) });
      for (const category of categories) {
        results.push({ method, budget, category, ...summarize(all.filter((s) => s.category === category)) });
      }
    }
  }
  meta.elapsed_ms = Math.round(performance.now() - started);
  meta.query_ms_total = Math.round(meta.query_ms_total);
  return { results, meta };
}
