// Wires the ports for Node: PGlite or PostgreSQL, the in-memory cache, the in-process queue running the same job
// handler as the Workers consumer, and the OpenAI-compatible LLM when a key is set.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { memoryCache } from '../../adapters/cache/memory.js';
import { connectRedis, redisCache } from '../../adapters/cache/redis.js';
import { memoryRateLimiter } from '../../adapters/ratelimit/memory.js';
import { openAiEmbedder } from '../../adapters/embedder/openai.js';
import { parseWordVectors, wordVectorEmbedder } from '../../adapters/embedder/word-vectors.js';
import { kafkaFromEnv, type KafkaAdapters } from '../../adapters/events/kafka.js';
import { openAiLlm } from '../../adapters/llm/openai.js';
import { inProcessQueue, type InProcessQueue } from '../../adapters/queue/in-process.js';
import { otlpTracing } from '../../adapters/telemetry/otlp.js';
import { traceBatch } from '../../services/traces.js';
import { openPglite } from '../../adapters/store/pglite.js';
import { openPostgres } from '../../adapters/store/postgres.js';
import { usesEmbeddingApi, type Env } from '../../config/env.js';
import type { Store } from '../../db/store.js';
import { hashedNgramEmbedder, type Embedder } from '../../embedder.js';
import { runJob } from '../../jobs/run.js';
import { createLogger, type Logger } from '../../logger.js';
import { createMetrics } from '../../metrics.js';
import type { Deps } from '../../ports.js';
import { getTokenizer } from '../../tokenizer.js';

export interface NodeDeps extends Deps {
  queue: InProcessQueue;
  /** External events to read from Kafka, when KAFKA_INBOUND_TOPIC is set. */
  inbound?: KafkaAdapters['inbound'];
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
      ? await openPostgres(env.DATABASE_URL, { max: env.DATABASE_POOL_MAX })
      : await openPglite(opts.inMemory ? undefined : path.join(env.DATA_DIR, 'pglite'), {
          sharedBuffersMb: env.PGLITE_SHARED_BUFFERS_MB,
        }));
  const metrics = createMetrics();
  const redis = env.REDIS_URL
    ? connectRedis(env.REDIS_URL, (err) =>
        logger.warn('redis unavailable; serving from the database', { error: err.message }),
      )
    : undefined;
  // Without REDIS_URL the cache lives in this process; with it, every instance shares one (and its invalidations).
  const cache = redis ? redisCache(redis) : memoryCache({ maxBytes: env.CONTEXT_CACHE_MAX_MB * 1_000_000 });
  const queue = inProcessQueue(logger, { metrics });
  const llm = env.OPENAI_API_KEY
    ? openAiLlm({
        apiKey: env.OPENAI_API_KEY,
        baseURL: env.OPENAI_BASE_URL,
        model: env.CONTEXT_LLM_MODEL,
        timeoutMs: env.CONTEXT_LLM_TIMEOUT_MS,
      })
    : undefined;
  // Offline, deterministic vectors unless an OpenAI-compatible endpoint is configured.
  const embedder = usesEmbeddingApi(env)
    ? openAiEmbedder({
        apiKey: env.OPENAI_API_KEY,
        baseURL: env.OPENAI_BASE_URL,
        model: env.CONTEXT_EMBEDDING_MODEL,
        timeoutMs: env.CONTEXT_EMBEDDING_TIMEOUT_MS,
      })
    : localEmbedder(env.CONTEXT_LOCAL_EMBEDDER);
  const kafka = kafkaFromEnv(env);
  const deps: NodeDeps = {
    env,
    store,
    cache,
    queue,
    llm,
    embedder,
    tokenizer: await getTokenizer(),
    logger,
    metrics,
    rateLimiter: env.RATE_LIMIT_PER_MINUTE > 0 ? memoryRateLimiter(env.RATE_LIMIT_PER_MINUTE) : undefined,
    events: kafka.events,
    inbound: kafka.inbound,
    traceBatch: traceBatch({ store, logger }),
    tracing: await otlpTracing(env, logger),
    async close() {
      queue.stop();
      await deps.traceBatch?.flush();
      await deps.tracing?.shutdown();
      redis?.disconnect();
      await store.close();
    },
  };
  queue.consume(async (job) => {
    await runJob(deps, job);
  });
  return deps;
}

/** The word-vector table ships in assets/; it is parsed once per process (≈ 35 ms, 5 MB). */
let wordVectors: Embedder | undefined;
function localEmbedder(kind: Env['CONTEXT_LOCAL_EMBEDDER']): Embedder {
  if (kind === 'hashed') return hashedNgramEmbedder();
  wordVectors ??= wordVectorEmbedder(
    parseWordVectors(readFileSync(new URL('../../../assets/word-vectors.bin', import.meta.url))),
  );
  return wordVectors;
}
