// Wires the ports for Node: PGlite or PostgreSQL, cache and rate limits in process or in Redis, the in-process or
// PostgreSQL queue running the Workers consumer's job handler, and the OpenAI-compatible LLM when a key is set. The
// clients of PostgreSQL, Redis and pg-boss are imported only when configured: the embedded default never loads them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { memoryCache } from '../../adapters/cache/memory.js';
import { memoryRateLimiter } from '../../adapters/ratelimit/memory.js';
import { openAiEmbedder } from '../../adapters/embedder/openai.js';
import { parseWordVectors, wordVectorEmbedder } from '../../adapters/embedder/word-vectors.js';
import { kafkaFromEnv, type KafkaAdapters } from '../../adapters/events/kafka.js';
import { openAiLlm } from '../../adapters/llm/openai.js';
import { inProcessQueue, type NodeQueue } from '../../adapters/queue/in-process.js';
import { otlpTracing } from '../../adapters/telemetry/otlp.js';
import { traceBatch } from '../../services/traces.js';
import { openPglite } from '../../adapters/store/pglite.js';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { usesEmbeddingApi, type Env } from '../../config/env.js';
import type { Store } from '../../db/store.js';
import { hashedNgramEmbedder, type Embedder } from '../../embedder.js';
import { runJob } from '../../jobs/run.js';
import { createLogger, type Logger } from '../../logger.js';
import { createMetrics } from '../../metrics.js';
import type { Deps } from '../../ports.js';
import { getTokenizer } from '../../tokenizer.js';

export interface NodeDeps extends Deps {
  queue: NodeQueue;
  /** The lock on DATA_DIR while this process has the embedded database open there. */
  dataDirLock?: DataDirLock;
  /** External events to read from Kafka, when KAFKA_INBOUND_TOPIC is set. */
  inbound?: KafkaAdapters['inbound'];
  close(): Promise<void>;
}

/**
 * The store `env` names: PostgreSQL at DATABASE_URL, or the embedded database in DATA_DIR, locked for this process
 * (`command` names it to a second process, which is refused) and unlocked when the store closes.
 */
export async function openStore(env: Env, command: string): Promise<{ store: Store; lock?: DataDirLock }> {
  if (env.DATABASE_URL) {
    const { openPostgres } = await import('../../adapters/store/postgres.js');
    return { store: await openPostgres(env.DATABASE_URL, { max: env.DATABASE_POOL_MAX }) };
  }
  const lock = lockDataDir(env.DATA_DIR, command);
  try {
    const store = await openPglite(path.join(env.DATA_DIR, 'pglite'), {
      sharedBuffersMb: env.PGLITE_SHARED_BUFFERS_MB,
    });
    const close = store.close.bind(store);
    store.close = async () => {
      await close();
      lock.release();
    };
    return { store, lock };
  } catch (err) {
    lock.release();
    throw err;
  }
}

export async function createNodeDeps(
  env: Env,
  opts: {
    store?: Store;
    logger?: Logger;
    inMemory?: boolean;
    /** What this process is, for the DATA_DIR lock (`npm start`, `npm run mcp`). */
    command?: string;
    /** `memory` keeps jobs in this process whatever JOB_QUEUE says (command-line tools that run no jobs). */
    queue?: 'memory';
  } = {},
): Promise<NodeDeps> {
  const logger = opts.logger ?? createLogger(env.LOG_LEVEL);
  // Loaded while the database opens: its files are read between the database's steps.
  const tokenizer = getTokenizer();
  const storedJobs =
    opts.queue !== 'memory' && (env.JOB_QUEUE === 'postgres' || (env.JOB_QUEUE === 'auto' && !!env.DATABASE_URL));
  if (storedJobs && !env.DATABASE_URL) throw new Error('JOB_QUEUE=postgres needs DATABASE_URL');
  const opened = opts.store
    ? { store: opts.store }
    : opts.inMemory && !env.DATABASE_URL
      ? { store: await openPglite(undefined, { sharedBuffersMb: env.PGLITE_SHARED_BUFFERS_MB }) }
      : await openStore(env, opts.command ?? 'the context engine');
  const store = opened.store;
  const metrics = createMetrics();
  const shared = env.REDIS_URL ? await connectShared(env.REDIS_URL, logger) : undefined;
  const redis = shared?.client;
  // Without REDIS_URL the cache lives in this process; with it, every instance shares one (and its invalidations).
  const cache = shared?.cache ?? memoryCache({ maxBytes: env.CONTEXT_CACHE_MAX_MB * 1_000_000 });
  const queue =
    storedJobs && env.DATABASE_URL
      ? await (await import('../../adapters/queue/postgres.js')).postgresQueue({
          connectionString: env.DATABASE_URL,
          poolMax: env.DATABASE_POOL_MAX,
          logger,
          metrics,
          retryLimit: env.JOB_RETRY_LIMIT,
          retryDelayMaxSeconds: env.JOB_RETRY_DELAY_MAX_SECONDS,
          heartbeatSeconds: env.JOB_HEARTBEAT_SECONDS,
        })
      : inProcessQueue(logger, { metrics });
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
    tokenizer: await tokenizer,
    logger,
    metrics,
    // With REDIS_URL every instance counts against the same limit.
    rateLimiter:
      env.RATE_LIMIT_PER_MINUTE <= 0
        ? undefined
        : (shared?.rateLimiter(env.RATE_LIMIT_PER_MINUTE) ?? memoryRateLimiter(env.RATE_LIMIT_PER_MINUTE)),
    events: kafka.events,
    inbound: kafka.inbound,
    traceBatch: traceBatch({ store, logger }),
    dataDirLock: opened.lock,
    tracing: await otlpTracing(env, logger),
    jobsBesideQueries: true,
    async close() {
      await queue.stop();
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

/** Redis's client, and the cache and rate limits every instance shares through it (loaded only with REDIS_URL). */
async function connectShared(url: string, logger: Logger) {
  const [{ connectRedis, redisCache }, { redisRateLimiter }] = await Promise.all([
    import('../../adapters/cache/redis.js'),
    import('../../adapters/ratelimit/redis.js'),
  ]);
  const client = connectRedis(url, (err) =>
    logger.warn('redis unavailable; serving from the database', { error: err.message }),
  );
  return { client, cache: redisCache(client), rateLimiter: (perMinute: number) => redisRateLimiter(client, perMinute) };
}

/**
 * The word-vector table ships in assets/; it is read and parsed once per process (≈ 35 ms, ≈ 25 MB resident), when
 * the embedder is first used rather than at start-up.
 */
let wordVectors: Embedder | undefined;
function localEmbedder(kind: Env['CONTEXT_LOCAL_EMBEDDER']): Embedder {
  if (kind === 'hashed') return hashedNgramEmbedder();
  let table: Embedder | undefined;
  const load = () =>
    (table ??= wordVectorEmbedder(
      parseWordVectors(readFileSync(new URL('../../../assets/word-vectors.bin', import.meta.url))),
    ));
  wordVectors ??= new Proxy({} as Embedder, {
    get: (_, key) => Reflect.get(load(), key),
    has: (_, key) => Reflect.has(load(), key),
  });
  return wordVectors;
}
