// In-process queue for Node: the job handler the Workers consumer runs, one job at a time, with backoff and a
// dead-letter list; per-session jobs (precompute, compaction, …) wait until the session's writes pause (ADR 0010).
import { defaults } from '../../config/tuning.js';
import { errorSummary, type Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import type { Job } from '../../jobs/schema.js';
import type { Queue } from '../../ports.js';

/** What the Node runtime needs of a queue: the in-process one (embedded) or the PostgreSQL one (DATABASE_URL). */
export interface NodeQueue extends Queue {
  /** Jobs survive a restart of this process (they are stored), so a shutdown need not drain them. */
  readonly durable: boolean;
  /** Installs the consumer; jobs sent before this wait for it. */
  consume(handler: (job: Job) => Promise<void>): void;
  /**
   * Runs every queued job now (held precomputes included) and resolves when none is queued, running or waiting to
   * retry.
   */
  drain(): Promise<void>;
  /** Jobs this process gave up on after their last attempt. */
  readonly deadLetters: { job: Job; error: string; attempts: number }[];
  /** Stops taking jobs; resolves once the job running in this process (if any) finished. */
  stop(): Promise<void> | void;
}

export type InProcessQueue = NodeQueue;

interface Pending {
  job: Job;
  attempts: number;
  /** Not run before this time (ms since the epoch). */
  readyAt: number;
  /** For a held job: when the oldest write it covers queued it; it is held no longer than its max wait from here. */
  firstAt: number;
}

export function inProcessQueue(
  logger: Logger,
  opts: {
    maxAttempts?: number;
    baseDelayMs?: number;
    metrics?: Metrics;
    precomputeQuietMs?: number;
    precomputeMaxWaitMs?: number;
    compactionMaxWaitMs?: number;
  } = {},
): InProcessQueue {
  const maxAttempts = opts.maxAttempts ?? 5;
  const baseDelayMs = opts.baseDelayMs ?? 200;
  const quietMs = opts.precomputeQuietMs ?? defaults.precomputeQuietMs;
  const maxWaitMs = opts.precomputeMaxWaitMs ?? defaults.precomputeMaxWaitMs;
  const compactionMaxWaitMs = opts.compactionMaxWaitMs ?? defaults.compactionMaxWaitMs;
  const pending: Pending[] = [];
  const deadLetters: InProcessQueue['deadLetters'] = [];
  let handler: ((job: Job) => Promise<void>) | undefined;
  let running = false;
  let waiting = 0;
  let stopped = false;
  let idle: (() => void)[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const settle = () => {
    if (!running && waiting === 0 && pending.length === 0) {
      const done = idle;
      idle = [];
      done.forEach((resolve) => resolve());
    }
  };

  /** The first job due, in the order sent. */
  const nextDue = (): Pending | undefined => {
    const now = Date.now();
    const i = pending.findIndex((p) => p.readyAt <= now);
    return i < 0 ? undefined : pending.splice(i, 1)[0];
  };

  /** Wakes the consumer when the earliest held job falls due. */
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (stopped || pending.length === 0) return;
    const at = pending.reduce((min, p) => Math.min(min, p.readyAt), Infinity);
    timer = setTimeout(
      () => {
        timer = undefined;
        void pump();
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref?.();
  };

  const pump = async () => {
    if (running || !handler || stopped) return;
    running = true;
    try {
      for (let next = nextDue(); next; next = nextDue()) {
        const item = next;
        try {
          opts.metrics?.queueLag.observe({}, Math.max(0, Date.now() - item.readyAt) / 1000);
          await handler(item.job);
          opts.metrics?.queueJob('ok');
        } catch (err) {
          item.attempts += 1;
          // Only the error's summary is kept and logged: a query error's own message holds its parameters.
          const error = errorSummary(err).message;
          if (item.attempts >= maxAttempts) {
            deadLetters.push({ job: item.job, error, attempts: item.attempts });
            opts.metrics?.queueJob('dead');
            logger.error('job dead-lettered', { job: item.job, error: err, attempts: item.attempts });
          } else {
            const delay = baseDelayMs * 2 ** (item.attempts - 1);
            logger.warn('job failed, retrying', {
              job_id: item.job.job_id,
              error: err,
              attempt: item.attempts,
              delay_ms: delay,
            });
            opts.metrics?.queueJob('retry');
            waiting += 1;
            setTimeout(() => {
              waiting -= 1;
              item.readyAt = Date.now();
              pending.push(item);
              void pump();
            }, delay).unref?.();
          }
        }
      }
    } finally {
      running = false;
      schedule();
      settle();
    }
  };

  return {
    durable: false,
    async send(job) {
      if (stopped) throw new Error('queue stopped');
      const now = Date.now();
      let readyAt = now;
      let firstAt = now;
      const held = heldJob(job);
      if (held) {
        // A newer job supersedes the queued one of the same kind and session: only the newest runs, once the
        // session has been quiet for a while (or has waited long enough), unless a drain wants everything now.
        for (let i = pending.length - 1; i >= 0; i--) {
          const p = pending[i]!;
          if (held.supersedes(p.job)) {
            firstAt = Math.min(firstAt, p.firstAt);
            pending.splice(i, 1);
          }
        }
        const wait = held.kind === 'precompute' ? maxWaitMs : compactionMaxWaitMs;
        if (idle.length === 0) readyAt = Math.min(now + quietMs, firstAt + wait);
      }
      pending.push({ job, attempts: 0, readyAt, firstAt });
      if (readyAt <= now) queueMicrotask(() => void pump());
      else if (!running) schedule();
    },
    consume(h) {
      handler = h;
      void pump();
    },
    drain() {
      return new Promise<void>((resolve) => {
        idle.push(resolve);
        const now = Date.now();
        for (const p of pending) p.readyAt = Math.min(p.readyAt, now);
        queueMicrotask(() => {
          void pump();
          settle();
        });
      });
    },
    deadLetters,
    stop() {
      stopped = true;
      pending.length = 0;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * Jobs a burst of writes would otherwise queue once per write. A precompute warms the newest version (older ones
 * are superseded); a threshold compaction folds everything past the window's limit when it runs, and an embedding
 * job embeds every turn without a vector and a learning job reads every turn past its cursor, so one run after the
 * burst does the work of all of them (a rebuild is an explicit request and runs as queued).
 */
export type HeldKind = 'precompute' | 'compress' | 'embed' | 'learn';

export function heldJob(job: Job): { kind: HeldKind; supersedes(queued: Job): boolean } | undefined {
  const sameSession = (q: Job) => q.tenant_id === job.tenant_id && q.session_id === job.session_id;
  if (job.kind === 'precompute')
    return {
      kind: 'precompute',
      supersedes: (q) => q.kind === 'precompute' && sameSession(q) && q.session_version <= job.session_version,
    };
  if (job.kind === 'compress' && job.mode === 'threshold')
    return { kind: 'compress', supersedes: (q) => q.kind === 'compress' && q.mode === 'threshold' && sameSession(q) };
  // Embedding starts after the newest stored vector, so one run after the burst embeds every turn it wrote.
  if (job.kind === 'embed') return { kind: 'embed', supersedes: (q) => q.kind === 'embed' && sameSession(q) };
  // Learning starts at the session's cursor, so one run after the burst reads every turn it wrote.
  if (job.kind === 'learn') return { kind: 'learn', supersedes: (q) => q.kind === 'learn' && sameSession(q) };
  return undefined;
}
