// The background jobs, declared once: the Node queue and the Workers queue consumer both send and check these.
import { z } from 'zod';

const jobOf = { tenant_id: z.string(), session_id: z.string(), job_id: z.string() };

export const CompressJob = z.object({
  kind: z.literal('compress'),
  ...jobOf,
  /** `threshold` folds what passed the window limit; `rebuild` recomputes the summary from every stored turn. */
  mode: z.enum(['threshold', 'rebuild']),
  /** For a rebuild: the window version it was queued against; once the window moved on, a redelivery does nothing. */
  window_version: z.number().optional(),
});
export type CompressJob = z.infer<typeof CompressJob>;

/**
 * Assemble the default context of a session after it changed, so the next default query is a cache hit. Queued
 * with the session version it was written at; once the session moved past it, a newer job covers the work.
 */
export const PrecomputeJob = z.object({
  kind: z.literal('precompute'),
  ...jobOf,
  session_version: z.number().int(),
});
export type PrecomputeJob = z.infer<typeof PrecomputeJob>;

/**
 * Announce to the agent's webhook that the contexts of a session version are ready. Delivered until the endpoint
 * answers 2xx, with the queue's retries and backoff; the secret is read at delivery, never carried in the job.
 */
export const WebhookJob = z.object({
  kind: z.literal('webhook'),
  ...jobOf,
  agent_id: z.string(),
  session_version: z.number().int(),
  model_calls: z.array(z.object({ flow_id: z.string(), model_call_id: z.string(), token_count: z.number() })),
});
export type WebhookJob = z.infer<typeof WebhookJob>;

/**
 * Embed the session's conversational turns that have no vector yet for the configured model (ADR 0012). Idempotent:
 * it starts after the newest stored vector and inserts nothing twice.
 */
export const EmbedJob = z.object({
  kind: z.literal('embed'),
  ...jobOf,
});
export type EmbedJob = z.infer<typeof EmbedJob>;

/**
 * Learn durable memories about the session's user from the turns written since the session's learning cursor.
 * Idempotent: the cursor moves in the statement that stores what was learned, only from where the job read it.
 */
export const LearnJob = z.object({
  kind: z.literal('learn'),
  ...jobOf,
});
export type LearnJob = z.infer<typeof LearnJob>;

/** Background work. Handlers are idempotent: a job delivered twice changes nothing the second time. */
export const Job = z.discriminatedUnion('kind', [CompressJob, PrecomputeJob, WebhookJob, EmbedJob, LearnJob]);
export type Job = z.infer<typeof Job>;

/** What running a job did; a job that finds nothing to do is `skipped` with the reason. */
export interface JobResult {
  status: 'compressed' | 'precomputed' | 'delivered' | 'embedded' | 'learned' | 'skipped';
  reason: string;
  through?: number;
  session_version?: number;
  model_calls?: number;
  embedded?: number;
  /** Memories a learning job added, and earlier ones it ended (superseded or closed). */
  added?: number;
  ended?: number;
}
