// Wires the ports for Node: PGlite or PostgreSQL, the in-memory cache, the in-process queue running the same job
// handler as the Workers consumer, and the OpenAI-compatible LLM when a key is set.
import path from 'node:path';
import { memoryCache } from '../../adapters/cache/memory.js';
import { memoryRateLimiter } from '../../adapters/ratelimit/memory.js';
import { openAiLlm } from '../../adapters/llm/openai.js';
import { inProcessQueue, type InProcessQueue } from '../../adapters/queue/in-process.js';
import { openPglite } from '../../adapters/store/pglite.js';
import { openPostgres } from '../../adapters/store/postgres.js';
import type { Env } from '../../config.js';
import type { Store } from '../../db/store.js';
import { createLogger, type Logger } from '../../logger.js';
import type { Deps } from '../../ports.js';
import { runJob } from '../../services/compaction.js';
import { getTokenizer } from '../../tokenizer.js';

export interface NodeDeps extends Deps {
  queue: InProcessQueue;
  close(): Promise<void>;
}

export async function createNodeDeps(
  env: Env,
  opts: { store?: Store; logger?: Logger; inMemory?: boolean } = {},
): Promise<NodeDeps> {
  const logger = opts.logger ?? createLogger(env.LOG_LEVEL);
  const store =
    opts.store ??
    (env.DATABASE_URL
      ? await openPostgres(env.DATABASE_URL)
      : await openPglite(opts.inMemory ? undefined : path.join(env.DATA_DIR, 'pglite')));
  const queue = inProcessQueue(logger);
  const llm = env.OPENAI_API_KEY
    ? openAiLlm({ apiKey: env.OPENAI_API_KEY, baseURL: env.OPENAI_BASE_URL, model: env.CONTEXT_LLM_MODEL, timeoutMs: env.CONTEXT_LLM_TIMEOUT_MS })
    : undefined;
  const deps: NodeDeps = {
    env,
    store,
    cache: memoryCache(),
    queue,
    llm,
    tokenizer: await getTokenizer(),
    logger,
    rateLimiter: env.RATE_LIMIT_PER_MINUTE > 0 ? memoryRateLimiter(env.RATE_LIMIT_PER_MINUTE) : undefined,
    async close() {
      queue.stop();
      await store.close();
    },
  };
  queue.consume(async (job) => {
    await runJob(deps, job);
  });
  return deps;
}
