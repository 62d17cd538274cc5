// Environment settings: parsed once at start-up by a zod schema, so a malformed setting fails fast with its name.
import { z } from 'zod';

export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('.data'),
  /** The embedded database's buffer pool (MB): resident from start-up; pages beyond it come from the OS page cache. */
  PGLITE_SHARED_BUFFERS_MB: z.coerce.number().int().min(1).max(1_024).default(32),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  /** Connections to DATABASE_URL per process. Each statement holds one for its round trip, so a busy process keeps
   * statements waiting for a connection long before the database is busy. */
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(1_000).default(10),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .optional(),
  CONTEXT_API_KEY: z.string().min(8, 'must be at least 8 characters').optional(),
  CONTEXT_ADMIN_KEY: z.string().min(8, 'must be at least 8 characters').optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: z.url().optional(),
  CONTEXT_LLM_MODEL: z.string().default('gpt-4o-mini'),
  CONTEXT_LLM_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** With OPENAI_API_KEY: the embedding model, or `none` to keep the key for summaries only (local embedder). */
  CONTEXT_EMBEDDING_MODEL: z.string().min(1).default('text-embedding-3-small'),
  /** Embeddings run on the query path: a short limit, after which ranking goes on without them. */
  CONTEXT_EMBEDDING_TIMEOUT_MS: z.coerce.number().int().positive().default(2_000),
  /**
   * Learn memories about a session's user from its new turns in the background (with the LLM when one is
   * configured, extractively otherwise); `false` stores only the memories callers write.
   */
  CONTEXT_LEARN_MEMORIES: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
  /** Offline vectors when no embedding API is configured: the bundled word-vector table, or spelling-only vectors. */
  CONTEXT_LOCAL_EMBEDDER: z.enum(['word-vectors', 'hashed']).default('word-vectors'),
  /**
   * Where background jobs wait: `postgres` (pg-boss in DATABASE_URL: stored, retried with backoff, shared by every
   * instance), `memory` (in this process, lost on a crash); `auto` is `postgres` with DATABASE_URL, else `memory`.
   */
  JOB_QUEUE: z.enum(['auto', 'postgres', 'memory']).default('auto'),
  /** Attempts after the first a stored job gets before it is dead-lettered (`postgres` queue). */
  JOB_RETRY_LIMIT: z.coerce.number().int().min(0).max(100).default(10),
  /** Longest wait between two attempts of a stored job, in seconds; the backoff doubles from 1 s up to it. */
  JOB_RETRY_DELAY_MAX_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /** A running stored job's owner proves it alive this often; a job whose owner went silent is run again. */
  JOB_HEARTBEAT_SECONDS: z.coerce.number().int().min(10).max(3_600).default(30),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(1200),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** OpenTelemetry: QueryContext spans go to `{endpoint}/v1/traces` over OTLP/HTTP (JSON); unset: no spans are made. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  /** The full traces URL, when it is not `{OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  /** Headers for the OTLP endpoint, `key=value` pairs separated by commas (an API key, say). */
  OTEL_EXPORTER_OTLP_HEADERS: z.string().optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('context-engine'),
  /** Kafka over the Upstash Kafka REST protocol: off unless the URL, username and password are all set. */
  KAFKA_REST_URL: z.url().optional(),
  KAFKA_REST_USERNAME: z.string().min(1).optional(),
  KAFKA_REST_PASSWORD: z.string().min(1).optional(),
  /**
   * Where domain events (turns.written, context.compressed, context.precomputed, context.deleted) go; unset: none are
   * published.
   */
  KAFKA_EVENTS_TOPIC: z.string().min(1).optional(),
  /**
   * Where external events (the bodies POST /v1/events takes) are read from, on the maintenance beat (Node's timer, the
   * Worker's cron); unset: not read.
   */
  KAFKA_INBOUND_TOPIC: z.string().min(1).optional(),
  KAFKA_CONSUMER_GROUP: z.string().min(1).default('context-engine'),
  /** Steps one trace may hold (service and agent steps together); appends past it are refused whole. */
  CONTEXT_MAX_TRACE_STEPS: z.coerce.number().int().min(10).max(10_000).default(200),
  /**
   * Sessions of at most this many turns are queried from an in-process copy of their turns (brought up to date with
   * one read of newer turns) instead of being searched in the database; 0 turns the copies off. The first query of a
   * session reads it whole (a few hundred ms at 10k turns); later ones read only new turns.
   */
  CONTEXT_SESSION_COPY_MAX_TURNS: z.coerce.number().int().min(0).max(100_000).default(20_000),
  /** Estimated memory (text plus about 1.5 KB per turn) all session copies of a process hold together, in MB. */
  CONTEXT_SESSION_COPY_MAX_MB: z.coerce.number().int().min(1).max(16_384).default(96),
  /**
   * The in-process context cache (used without REDIS_URL): estimated memory of the answers it holds, in MB. Least
   * recently used answers go first past it; an answer larger than an eighth of it is not cached.
   */
  CONTEXT_CACHE_MAX_MB: z.coerce.number().int().min(1).max(16_384).default(64),
  /** Characters of content kept as a trace step's preview. */
  CONTEXT_TRACE_PREVIEW_CHARS: z.coerce.number().int().min(0).max(100_000).default(500),
  /** Days a trace is kept; the maintenance sweep deletes older ones. Evaluation events are kept with their session. */
  CONTEXT_TRACE_RETENTION_DAYS: z.coerce.number().positive().default(7),
  /**
   * An evaluation below this overall score is logged as an alert and counted in
   * evaluation_events_total{outcome="low_score"}.
   */
  CONTEXT_LOW_SCORE_THRESHOLD: z.coerce.number().min(0).max(1).default(0.5),
  /** Lets agent webhooks target loopback and private addresses (local development and tests). */
  CONTEXT_WEBHOOK_ALLOW_PRIVATE: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /**
   * Tool-result fields kept in summaries whatever their shape, per tool name (`*`: every tool), as JSON:
   * `{"get_order":["tracking_url"],"*":["note"]}`. Names match a field's key or its dotted path.
   */
  CONTEXT_TOOL_FIELDS: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (!text) return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(z.record(z.string().min(1), z.array(z.string().min(1).max(200)).max(100)).optional()),
});
export type Env = z.infer<typeof envSchema>;

export function parseEnv(source: Record<string, string | undefined>): Env {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

/** Whether turns and queries are embedded by the OpenAI-compatible API (ADR 0012) rather than locally. */
export const usesEmbeddingApi = (
  env: Pick<Env, 'OPENAI_API_KEY' | 'CONTEXT_EMBEDDING_MODEL'>,
): env is Env & { OPENAI_API_KEY: string } => !!env.OPENAI_API_KEY && env.CONTEXT_EMBEDDING_MODEL !== 'none';
