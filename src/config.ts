// Settings users tune live here, each with its default and the reason for it. The environment is parsed once at
// start-up by a zod schema, so a malformed setting fails fast with its name.
import { z } from 'zod';

export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('.data'),
  /** The embedded database's buffer pool (MB): resident from start-up; pages beyond it come from the OS page cache. */
  PGLITE_SHARED_BUFFERS_MB: z.coerce.number().int().min(1).max(1_024).default(128),
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
  /** Offline vectors when no embedding API is configured: the bundled word-vector table, or spelling-only vectors. */
  CONTEXT_LOCAL_EMBEDDER: z.enum(['word-vectors', 'hashed']).default('word-vectors'),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(1200),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Kafka over the Upstash Kafka REST protocol: off unless the URL, username and password are all set. */
  KAFKA_REST_URL: z.url().optional(),
  KAFKA_REST_USERNAME: z.string().min(1).optional(),
  KAFKA_REST_PASSWORD: z.string().min(1).optional(),
  /** Where domain events (turns.written, context.compressed, context.deleted) go; unset: none are published. */
  KAFKA_EVENTS_TOPIC: z.string().min(1).optional(),
  /** Where external events (the bodies POST /v1/events takes) are read from on the Worker's cron; unset: not read. */
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
  /** An evaluation below this overall score is logged as an alert and counted in evaluation_low_score_total. */
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

/** Request limits: generous for real agents, small enough that one request cannot exhaust the service. */
export const limits = {
  bodyBytes: 2 * 1024 * 1024,
  turnsPerBatch: 500,
  contentChars: 200_000,
  budgetTokensMax: 200_000,
  idLength: 128,
  searchResultsMax: 100,
  pageSizeMax: 200,
  pageSizeDefault: 50,
  /**
   * Task flows per agent, model calls per flow and the budget of one model call's recipe. Every write to a session
   * of the agent may assemble these contexts in the background (within `defaults.precompute`), so they are bounded
   * at registration; a live query may still ask for up to `budgetTokensMax`.
   */
  flowsPerAgent: 10,
  modelCallsPerFlow: 20,
  modelCallBudgetTokens: 128_000,
} as const;

export const defaults = {
  /** A window compresses its oldest turns once the unsummarised part passes this many tokens. */
  windowMaxTokens: 8_000,
  /** After compression this share of the window stays verbatim (the newest turns). */
  keepRecentShare: 0.5,
  compressionStrategy: 'summarize' as const,
  /** Longest summary a compaction may produce. */
  summaryMaxTokens: 600,
  /** How long an assembled context stays cached; versioned keys make staleness impossible, TTL only bounds memory. */
  contextCacheTtlSeconds: 300,
  /**
   * Budget of the default context a background job assembles after each write (`{ "budget_tokens": 2000 }` and
   * nothing else), so that request is a cache hit. About what a chat model call leaves for context once the
   * system prompt and the answer are set aside; other budgets are assembled on demand as before.
   */
  precomputeBudgetTokens: 2_000,
  /**
   * Node's in-process queue holds a session's precompute until writes to it pause this long (and at most
   * `precomputeMaxWaitMs` after the first write it covers): a conversation writes in bursts, and a context assembled
   * between two writes of a burst is superseded before anyone reads it. One precompute per burst, not per write.
   */
  precomputeQuietMs: 500,
  /**
   * Work one precompute job does for an agent's model calls. Calls are taken in plan order (flows by id, calls in
   * their flow's order), at most `maxModelCalls` of them; a call whose budget would take the sum of their budgets past
   * `maxBudgetTokens` is skipped (a later, smaller one may still fit). Skipped calls are assembled live when asked
   * for. One write then costs a bounded amount of CPU and cache memory whatever the agent declared.
   */
  precompute: {
    maxModelCalls: 20,
    maxBudgetTokens: 256_000,
  },
  precomputeMaxWaitMs: 5_000,
  /**
   * Threshold compactions are held the same way (a compaction folds everything past the limit, so one per burst
   * does the work of one per write), but no longer than this: the unsummarised part overshoots its limit by at most
   * this much time's writes.
   */
  compactionMaxWaitMs: 2_000,
  /** How often the Node process re-queues compression that a lost enqueue left behind (Workers use the cron). */
  maintenanceIntervalMs: 60_000,
  /**
   * How often the Node process checks planner statistics (ANALYZE only for tables changed by a tenth since the last
   * one; the check is one small statement). The embedded database never autovacuums, and a session growing fast
   * while the statistics still call it rare gets plans that read all of it on every write.
   */
  statisticsIntervalMs: 5_000,
  /** Tool findings: how many of the newest tool results (and calls) a query reads, summarises and digests. */
  toolFindings: {
    results: 40,
  },
  /** Candidates fetched from full-text search before ranking and packing. */
  lexicalCandidates: 60,
  /**
   * Relevant-history retrieval: full-text search bounds the candidates, the in-process ranker orders them. A few
   * hundred candidates cover what a 4k-token budget can hold several times over while keeping a query to one round
   * trip of a few hundred small rows.
   */
  history: {
    /** Query lexemes searched (the most repeated, then the latest, for long queries). */
    maxQueryTerms: 16,
    /** Matches read per term, newest first; also the cap on a term's document frequency. */
    matchesPerTerm: 500,
    /**
     * Hits with the highest summed IDF kept as seeds: one per `tokensPerSeed` of budget, within these bounds. With
     * their neighbours and the seeds by meaning that is about five candidate turns per turn the budget can hold: the
     * learned ranker (ADR 0014) tells them apart, and more of the turns that answer are among them.
     */
    seedsMin: 40,
    seedsMax: 200,
    tokensPerSeed: 20,
    /** Turns fetched on each side of a seed: answers follow questions, context surrounds mentions. */
    neighbourRadius: 2,
    /** Stems at least this long also match the longer stems they prefix. */
    prefixMinLength: 4,
    /** Cosine at which two candidate turns count as near-duplicates and only the better-ranked one is kept. */
    duplicateCosine: 0.92,
    /** Candidates without a vector at hand embedded per query (the best-scored), and compared for near-duplicates. */
    embedTop: 200,
  },
  /**
   * Small sessions are read from an in-process copy of their turns (pipeline/retriever/snapshot.ts), brought up to
   * date with one read of the turns written since: a query then costs no round trip for its turns. Larger sessions
   * are searched in the database, with its indexes.
   */
  /**
   * Full-text matches of query terms remembered per session read from the database (retriever/term-matches.ts):
   * at most this many terms and sequences per process (~8 bytes a sequence), least recently used dropped first.
   */
  termMatches: {
    maxTerms: 20_000,
    maxSequences: 2_000_000,
  },
  /** Candidate rows remembered per process for sessions read from the database (retriever/candidate-rows.ts). */
  candidateRows: {
    maxBytes: 32_000_000,
  },
  snapshot: {
    /** Largest session (in stored tokens) copied; the turn limit is CONTEXT_SESSION_COPY_MAX_TURNS. */
    maxTokens: 1_000_000,
    /** Sessions whose copy this process keeps, least recently queried dropped first; memory: CONTEXT_SESSION_COPY_MAX_MB. */
    sessionsKept: 256,
  },
  /** Turn vectors from a remote embedding model (ADR 0012: services/turn-vectors.ts, pipeline/retriever/vector-seeds.ts). */
  vectors: {
    /** Newest turns of a session embedded and searched by meaning. */
    window: 5_000,
    /** Turns sent to the model per request. */
    batch: 64,
    /** Turns one background job embeds before it queues the next. */
    perJob: 1_024,
    /** Vectors held in this process (estimated bytes), least recently queried sessions dropped first. */
    maxBytes: 64_000_000,
    /** Seeds per query: this share of the lexical seed count. */
    seedShare: 0.5,
    /** With the bundled word vectors (beside their word-level seeds): this share of the lexical seed count. */
    localSeedShare: 0.5,
    /**
     * With the bundled word vectors, a turn's closeness to the query in meaning for the sentence-vector seeds is its
     * cosine plus this share of its informativeness (pipeline/retriever/informative.ts; the learned ranker weighs
     * informativeness on its own):
     * word-vector sentence means relate a question to many of its subject's turns about equally, and among those the
     * turns that recount something are the ones that answer.
     */
    localInformative: 0.2,
  },
  /** Semantic seeds from an in-process embedder (see pipeline/retriever/semantic.ts). */
  semantic: {
    /** Newest turns of a session searched by meaning. */
    window: 5_000,
    /** Cosine from which two words count as related. */
    threshold: 0.55,
    /** Related words (the closest) a query word is expanded to. */
    relatedPerWord: 40,
    /** Frequency rank from which a query word is expanded (function and very common words relate to everything). */
    minQueryRank: 300,
    /** Frequency rank from which a turn's word can match a query word by meaning. */
    minTurnRank: 1000,
    /** Sessions whose word index this process keeps, least recently queried dropped first. Fewer than the sessions
     * being queried at once means rebuilding an index on most queries. */
    sessionsKept: 128,
    /** Seeds per query: this share of the lexical seed count. */
    seedShare: 1,
  },
} as const;

/** Whether turns and queries are embedded by the OpenAI-compatible API (ADR 0012) rather than locally. */
export const usesEmbeddingApi = (env: Pick<Env, 'OPENAI_API_KEY' | 'CONTEXT_EMBEDDING_MODEL'>): env is Env & { OPENAI_API_KEY: string } =>
  !!env.OPENAI_API_KEY && env.CONTEXT_EMBEDDING_MODEL !== 'none';

/**
 * How a budget is split across envelope sections (seed 001 M2) when no query is given: shares of what remains after
 * the fixed frame; unused tokens flow on (see the planner's backfill order).
 */
export const sectionShares = {
  task_anchor: 0.08,
  hard_constraints: 0.07,
  retrieved_memory: 0.1,
  tool_findings: 0.15,
  summary: 0.1,
  recent_turns: 0.25,
  relevant_history: 0.25,
} as const;

/**
 * Shares when the session is in a tool-using stretch (its newest tool result is among the recent turns): the values
 * the next call needs live in tool results, so they take the largest share, then the newest turns; relevant history
 * and the rest take what is left. Applies with or without a query.
 */
export const toolSectionShares = {
  task_anchor: 0.05,
  hard_constraints: 0.07,
  retrieved_memory: 0.03,
  tool_findings: 0.5,
  summary: 0,
  recent_turns: 0.25,
  relevant_history: 0.1,
} as const satisfies Record<keyof typeof sectionShares, number>;

/**
 * Shares when a query is given: the turns that match it get most of the budget. The newest turns keep a small share
 * (the thread the next call continues); the rolling summary only receives what nothing more specific could use.
 */
export const querySectionShares = {
  task_anchor: 0.05,
  hard_constraints: 0.07,
  retrieved_memory: 0.08,
  tool_findings: 0.1,
  summary: 0,
  recent_turns: 0.05,
  relevant_history: 0.65,
} as const satisfies Record<keyof typeof sectionShares, number>;
