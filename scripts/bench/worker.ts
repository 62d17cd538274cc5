// One case over every size, in its own process: peak RSS is then the case's own (a 100k-turn BM25 index does not
// inflate the product's figure), and each case starts as cold as a fresh server would.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runBaseline } from './baselines.js';
import { loadCorpus } from './data.js';
import { runProduct, type ProductOptions } from './product.js';
import type { Result } from './report.js';
import { runTokenizer, TOKENIZER_TURNS } from './tokenizer.js';
import { runUserBaseline, runUserProduct, type UserShape } from './user.js';

/** One child process's work: the product's options (corpus and logger made in the child) or a baseline's. */
export interface Job extends Omit<ProductOptions, 'corpus' | 'log'> {
  kind: 'product' | 'recency' | 'bm25' | 'user-product' | 'user-bm25';
  dataDir: string;
  tools?: string | undefined;
  /** The long-term memory case's user (user-product, user-bm25). */
  user?: UserShape | undefined;
}

export type WorkerMessage = { type: 'results'; results: Result[] } | { type: 'error'; message: string };

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

export async function runJob(job: Job): Promise<Result[]> {
  const corpus = await loadCorpus(job.dataDir, job.tools);
  switch (job.kind) {
    case 'product':
      return runProduct({ ...job, corpus, log });
    case 'recency': {
      // The tokenizer first, while this process's piece memo is still empty.
      const tokenizer = await runTokenizer({ corpus, turns: Math.min(TOKENIZER_TURNS, Math.max(...job.sizes)), log });
      return [...tokenizer, ...(await runBaseline({ ...job, kind: job.kind, corpus, log }))];
    }
    case 'bm25':
      return runBaseline({ ...job, kind: job.kind, corpus, log });
    case 'user-product':
    case 'user-bm25': {
      if (!job.user) throw new Error(`${job.kind}: no user shape`);
      const o = { ...job, user: job.user, corpus, log };
      return job.kind === 'user-product' ? runUserProduct(o) : runUserBaseline(o);
    }
  }
}

// Only as a forked entry point (vitest's own workers also have process.send).
if (process.send && process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const send = (m: WorkerMessage) =>
    new Promise<void>((resolve) => process.send!(m, undefined, undefined, () => resolve()));
  const job = JSON.parse(process.argv[2] ?? '{}') as Job;
  runJob(job)
    .then((results) => send({ type: 'results', results }))
    .catch((err: unknown) =>
      send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    )
    .finally(() => process.exit(0));
}
