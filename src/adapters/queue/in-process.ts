// In-process queue for Node: runs the same job handler the Workers queue consumer runs, one job at a time,
// retrying failures with exponential backoff and parking a job in the dead-letter list after the last attempt.
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import type { Job, Queue } from '../../ports.js';

export interface InProcessQueue extends Queue {
  /** Installs the consumer; jobs sent before this wait for it. */
  consume(handler: (job: Job) => Promise<void>): void;
  /** Resolves when no job is queued, running or waiting to retry. */
  drain(): Promise<void>;
  readonly deadLetters: { job: Job; error: string; attempts: number }[];
  stop(): void;
}

export function inProcessQueue(
  logger: Logger,
  opts: { maxAttempts?: number; baseDelayMs?: number; metrics?: Metrics } = {},
): InProcessQueue {
  const maxAttempts = opts.maxAttempts ?? 5;
  const baseDelayMs = opts.baseDelayMs ?? 200;
  const pending: { job: Job; attempts: number; readyAt: number }[] = [];
  const deadLetters: InProcessQueue['deadLetters'] = [];
  let handler: ((job: Job) => Promise<void>) | undefined;
  let running = false;
  let waiting = 0;
  let stopped = false;
  let idle: (() => void)[] = [];

  const settle = () => {
    if (!running && waiting === 0 && pending.length === 0) {
      const done = idle;
      idle = [];
      done.forEach((resolve) => resolve());
    }
  };

  const pump = async () => {
    if (running || !handler || stopped) return;
    running = true;
    try {
      for (let next = pending.shift(); next; next = pending.shift()) {
        const item = next;
        try {
          opts.metrics?.queueLag.observe({}, (Date.now() - item.readyAt) / 1000);
          await handler(item.job);
          opts.metrics?.queueJob('ok');
        } catch (err) {
          item.attempts += 1;
          const error = err instanceof Error ? err.message : String(err);
          if (item.attempts >= maxAttempts) {
            deadLetters.push({ job: item.job, error, attempts: item.attempts });
            opts.metrics?.queueJob('dead');
            logger.error('job dead-lettered', { job: item.job, error, attempts: item.attempts });
          } else {
            const delay = baseDelayMs * 2 ** (item.attempts - 1);
            logger.warn('job failed, retrying', { job_id: item.job.job_id, error, attempt: item.attempts, delay_ms: delay });
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
      settle();
    }
  };

  return {
    async send(job) {
      if (stopped) throw new Error('queue stopped');
      if (job.kind === 'precompute') {
        // A newer version supersedes queued precomputes of the same session: only the newest one runs.
        for (let i = pending.length - 1; i >= 0; i--) {
          const p = pending[i]!.job;
          if (p.kind === 'precompute' && p.tenant_id === job.tenant_id && p.session_id === job.session_id && p.session_version <= job.session_version)
            pending.splice(i, 1);
        }
      }
      pending.push({ job, attempts: 0, readyAt: Date.now() });
      queueMicrotask(() => void pump());
    },
    consume(h) {
      handler = h;
      void pump();
    },
    drain() {
      return new Promise<void>((resolve) => {
        idle.push(resolve);
        queueMicrotask(settle);
      });
    },
    deadLetters,
    stop() {
      stopped = true;
      pending.length = 0;
    },
  };
}
