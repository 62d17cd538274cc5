// The ports the services depend on. Each has an in-process twin so the embedded default needs no servers.
import type { Env } from './config/env.js';
import type { Store } from './db/store.js';
import type { CompressJob, Job } from './jobs/schema.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { Tokenizer } from './tokenizer.js';

export interface Cache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  /** Drops every key that starts with `prefix` (used when a session, user or agent is deleted). */
  deletePrefix(prefix: string): Promise<void>;
  /** One cache for every instance (Redis, Upstash): what one instance writes, all of them read. */
  readonly shared?: boolean;
}

/** Background work, declared as zod schemas beside its dispatcher. */
export type { CompressJob, EmbedJob, Job, LearnJob, PrecomputeJob, WebhookJob } from './jobs/schema.js';

export interface Queue {
  send(job: Job): Promise<void>;
}

export interface Llm {
  readonly model: string;
  /** Summarises `text` in at most about `maxTokens` tokens; throws on failure (callers fall back). */
  summarize(text: string, maxTokens: number): Promise<string>;
  /**
   * The memory operations (ADD / UPDATE / DELETE / NONE) the model answers for new turns against the user's current
   * memories, as parsed JSON, unchecked: the caller validates it and falls back. Throws on failure.
   */
  memoryOperations?(prompt: MemoryPrompt): Promise<unknown>;
}

/** What the model is shown to learn memories: the new turns and the user's current memories, oldest first. */
export interface MemoryPrompt {
  turns: { sequence: number; role: string; speaker: string; date: string; text: string }[];
  /** `ref` is a short name the answer uses for the memory (m1, m2, …). */
  memories: { ref: string; kind: string; date: string; text: string }[];
}

/** Process-wide dependencies; a request adds its tenant and request id to make a `Ctx`. */
export interface Deps {
  env: Env;
  store: Store;
  cache: Cache;
  queue: Queue;
  llm: Llm | undefined;
  tokenizer: Tokenizer;
  logger: Logger;
  /** Per-key request limits; absent means unlimited. */
  rateLimiter?: RateLimiter;
  /** Prometheus metrics served at /metrics; absent means nothing is recorded. */
  metrics?: Metrics;
  embedder?: import('./embedder.js').Embedder; // ranking and de-duplication vectors; absent: lexical signals only
  /** Domain events for other systems (a Kafka topic); absent means none are published. */
  events?: EventPublisher;
  /** Query traces written in batches (one process owns its store); absent: each trace is written as it is made. */
  traceBatch?: import('./services/traces.js').TraceBatch;
  /** Resolves webhook host names for vetting; absent: node:dns on Node, none on Workers (no DNS API there). */
  resolveHost?: HostResolver;
  /** OpenTelemetry spans exported over OTLP/HTTP; absent (no endpoint configured): none are made. */
  tracing?: Tracing;
  /**
   * Background jobs run in the process that answers the queries (Node): a precompute then also brings what the
   * process holds for searching the session up to date. Unset on Workers, where a job runs in any isolate.
   */
  jobsBesideQueries?: boolean;
}

/** A finished QueryContext: when it started, how long each stage took, and what to say about it. */
export interface QuerySpans {
  startedAt: number;
  stages: { stage: string; ms: number }[];
  attributes: Record<string, string | number | boolean>;
}

export interface Tracing {
  /** Records a QueryContext as a span with a child span per stage; exported in batches. */
  queryContext(query: QuerySpans): void;
  /** Sends what is buffered now (a Worker calls it in waitUntil after each request). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Every address a host name resolves to, as node:dns `lookup` with `all: true` answers. */
export type HostResolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

/**
 * What changed, for systems downstream. Ids, counts and versions only: content stays in the store, so a topic
 * never holds more of a tenant's data than the identifiers it already shares.
 */
export type DomainEvent =
  | {
      type: 'turns.written';
      tenant_id: string;
      session_id: string;
      session_version: number;
      first_sequence: number;
      last_sequence: number;
      turn_count: number;
      total_tokens: number;
    }
  | {
      type: 'context.compressed';
      tenant_id: string;
      session_id: string;
      mode: CompressJob['mode'];
      method: string;
      through_sequence: number;
      tokens_before: number;
      tokens_after: number;
    }
  | {
      type: 'context.precomputed';
      tenant_id: string;
      session_id: string;
      agent_id: string | null;
      session_version: number;
      model_call_ids: string[];
    }
  | {
      type: 'context.deleted';
      tenant_id: string;
      scope: 'session' | 'user' | 'agent';
      id: string;
      session_ids: string[];
    };

export interface EventPublisher {
  /** Best effort: callers log a failure and carry on; the store stays the source of truth. */
  publish(event: DomainEvent): Promise<void>;
}

export interface RateLimiter {
  /** Counts one request for `id`; `allowed: false` means answer 429 and retry after `retryAfterSeconds`. */
  limit(id: string): Promise<{ allowed: boolean; limit: number; remaining: number; retryAfterSeconds: number }>;
}

export interface Ctx extends Deps {
  tenantId: string;
  requestId: string;
  /** The caller's own X-Request-Id (checked by the `Id` rule), kept for correlation; never a key of anything. */
  clientRequestId?: string;
  /** Called as a query finishes each stage (cache, retrieve, rank, plan, assemble), for its trace. */
  onStage?: (stage: string) => void;
}
