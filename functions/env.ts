// Bindings of the Worker and the dependencies built from them, once per isolate.
import { Redis } from '@upstash/redis/cloudflare';
import { upstashCache } from '../src/adapters/cache/upstash.js';
import { kafkaFromEnv } from '../src/adapters/events/kafka.js';
import { upstashRateLimiter } from '../src/adapters/ratelimit/upstash.js';
import { openAiEmbedder } from '../src/adapters/embedder/openai.js';
import { openAiLlm } from '../src/adapters/llm/openai.js';
import { cloudflareQueue } from '../src/adapters/queue/cloudflare.js';
import { openNeon } from '../src/adapters/store/neon.js';
import { parseEnv, usesEmbeddingApi } from '../src/config/env.js';
import type { App } from '../src/http/app.js';
import { buildApp } from '../src/http/routes/index.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { otlpTracing } from '../src/adapters/telemetry/otlp.js';
import type { Deps } from '../src/ports.js';
import type { InboundSource } from '../src/services/events/inbound.js';
import { getTokenizer } from '../src/tokenizer.js';

/**
 * `Env` (generated from wrangler.toml by `npm run cf-typegen`) plus the optional settings wrangler cannot infer:
 * OPENAI_API_KEY is an optional secret; NEON_FETCH_ENDPOINT only points the Neon client at a local stand-in; the
 * KAFKA_* settings turn the Kafka adapter on (secrets for the credentials, vars for the topics).
 */
export interface WorkerEnv extends Env {
  NEON_FETCH_ENDPOINT?: string;
  OPENAI_API_KEY?: string;
  OPENAI_BASE_URL?: string;
  CONTEXT_LLM_TIMEOUT_MS?: string;
  KAFKA_REST_URL?: string;
  KAFKA_REST_USERNAME?: string;
  KAFKA_REST_PASSWORD?: string;
  KAFKA_EVENTS_TOPIC?: string;
  KAFKA_INBOUND_TOPIC?: string;
  KAFKA_CONSUMER_GROUP?: string;
}

export interface Runtime {
  deps: Deps;
  app: App;
  /** External events the cron reads, when KAFKA_INBOUND_TOPIC is set. */
  inbound?: InboundSource;
}

// Keyed by the env object: workerd hands every invocation in an isolate the same one, and a test that builds its
// own env gets its own dependencies.
const runtimes = new WeakMap<object, Promise<Runtime>>();

export function runtimeFor(env: WorkerEnv): Promise<Runtime> {
  let runtime = runtimes.get(env);
  if (!runtime) {
    runtime = buildRuntime(env);
    runtimes.set(env, runtime);
    // A failed start (bad setting, tokenizer load) must not stick to the isolate: the next call tries again.
    runtime.catch(() => runtimes.delete(env));
  }
  return runtime;
}

async function buildRuntime(env: WorkerEnv): Promise<Runtime> {
  // Only string bindings are settings; the queue binding and other objects are not.
  const strings = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  const settings = parseEnv(strings);
  const missing = ['DATABASE_URL', 'UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN'].filter((k) => !strings[k]);
  if (missing.length) throw new Error(`invalid configuration: missing ${missing.join(', ')}`);

  const logger = createLogger(settings.LOG_LEVEL);
  // Without auto-pipelining: it wraps every command in a pipeline of its own and a deferred promise, and the Worker
  // never sends commands concurrently for it to batch (each request's Upstash calls are sequential).
  const redis = new Redis({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    enableAutoPipelining: false,
  });
  const kafka = kafkaFromEnv(settings);
  const deps: Deps = {
    env: settings,
    store: openNeon(settings.DATABASE_URL!, { fetchEndpoint: env.NEON_FETCH_ENDPOINT || undefined }),
    cache: upstashCache(redis),
    // Shared by every isolate and region, unlike the per-process limiter of the Node runtime.
    rateLimiter:
      settings.RATE_LIMIT_PER_MINUTE > 0 ? upstashRateLimiter(redis, settings.RATE_LIMIT_PER_MINUTE) : undefined,
    queue: cloudflareQueue(env.JOBS),
    llm: settings.OPENAI_API_KEY
      ? openAiLlm({
          apiKey: settings.OPENAI_API_KEY,
          baseURL: settings.OPENAI_BASE_URL,
          model: settings.CONTEXT_LLM_MODEL,
          timeoutMs: settings.CONTEXT_LLM_TIMEOUT_MS,
        })
      : undefined,
    // Ranking and vector seeds by meaning when an OpenAI-compatible endpoint is configured; lexical signals otherwise.
    embedder: usesEmbeddingApi(settings)
      ? openAiEmbedder({
          apiKey: settings.OPENAI_API_KEY,
          baseURL: settings.OPENAI_BASE_URL,
          model: settings.CONTEXT_EMBEDDING_MODEL,
          timeoutMs: settings.CONTEXT_EMBEDDING_TIMEOUT_MS,
        })
      : undefined,
    tokenizer: await getTokenizer(),
    logger,
    // Per isolate; served at /metrics and summarised in the logs Workers Observability collects.
    metrics: createMetrics(),
    events: kafka.events,
    // Spans are sent in waitUntil after each request (functions/fetch.ts).
    tracing: await otlpTracing(settings, logger),
  };
  return { deps, app: buildApp(deps), inbound: kafka.inbound };
}
