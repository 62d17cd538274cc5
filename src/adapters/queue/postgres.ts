// Stored jobs for Node with DATABASE_URL: pg-boss queues in PostgreSQL, shared by every instance, with retries,
// backoff and a dead-letter queue. A burst's per-session jobs collapse into one queued job, as in process (ADR 0019).
import { PgBoss, type JobWithMetadata } from 'pg-boss';
import { joinKey } from '../../cache-keys.js';
import { defaults } from '../../config/tuning.js';
import { Job } from '../../jobs/schema.js';
import { errorSummary, type Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import { heldJob, type NodeQueue } from './in-process.js';

export interface PostgresQueueOptions {
  connectionString: string;
  /** Connections of the queue's own pool: each write waits for its jobs' upserts there. */
  poolMax?: number;
  logger: Logger;
  metrics?: Metrics;
  /** Attempts after the first before a job is dead-lettered. */
  retryLimit: number;
  retryDelayMaxSeconds: number;
  heartbeatSeconds: number;
  precomputeQuietMs?: number;
  precomputeMaxWaitMs?: number;
  compactionMaxWaitMs?: number;
  /** pg-boss's own schema in the application database; every instance of one deployment uses the same one. */
  schema?: string;
}

const DEAD_LETTERS = 'dead-letters';
const QUEUES = ['compress', 'rebuild', 'precompute', 'webhook', 'embed', 'learn'] as const;
type QueueName = (typeof QUEUES)[number];

const queueOf = (job: Job): QueueName =>
  job.kind === 'compress' ? (job.mode === 'rebuild' ? 'rebuild' : 'compress') : job.kind;

export async function postgresQueue(opts: PostgresQueueOptions): Promise<NodeQueue> {
  const { logger, metrics } = opts;
  const schema = opts.schema ?? 'pgboss';
  const quietMs = opts.precomputeQuietMs ?? defaults.precomputeQuietMs;
  const maxWaitMs = opts.precomputeMaxWaitMs ?? defaults.precomputeMaxWaitMs;
  const compactionMaxWaitMs = opts.compactionMaxWaitMs ?? defaults.compactionMaxWaitMs;
  const boss = new PgBoss({
    connectionString: opts.connectionString,
    schema,
    max: opts.poolMax ?? 10,
    application_name: 'context-engine-jobs',
    // A queued job is acknowledged without waiting for the WAL flush: a write pays one round trip for its job, not a
    // disk sync. Only a crash of the database server itself can lose the last fraction of a second of queued jobs.
    options: '-c synchronous_commit=off',
    // A job whose owner stopped sending heartbeats (killed, cut off) is failed and retried within about this long.
    superviseIntervalSeconds: Math.max(1, Math.floor(opts.heartbeatSeconds / 2)),
  });
  boss.on('error', (err: Error) => logger.warn('job queue error', { error: err }));
  await boss.start();
  await boss.createQueue(DEAD_LETTERS, { retentionSeconds: 14 * 86_400 });
  // Retries and heartbeats go on each job, so a changed setting applies to every job queued after a restart.
  const retries = {
    retryLimit: opts.retryLimit,
    retryDelay: 1,
    retryBackoff: true,
    retryDelayMax: opts.retryDelayMaxSeconds,
    heartbeatSeconds: opts.heartbeatSeconds,
  };
  for (const name of QUEUES)
    await boss.createQueue(name, {
      // One queued job per session and kind (`short`): a write during a running job queues the next one.
      policy: name === 'rebuild' || name === 'webhook' ? 'standard' : 'short',
      ...retries,
      deadLetter: DEAD_LETTERS,
    });

  const deadLetters: NodeQueue['deadLetters'] = [];
  // When this instance first queued the job a held key names, so a steady stream of writes waits at most max-wait.
  const firstQueued = new Map<string, number>();
  let stopped = false;
  // One job at a time per process, as in process: background work must not crowd out requests.
  let turn: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = turn.then(fn, fn);
    turn = run.catch(() => undefined);
    return run;
  };

  const handle = async (handler: (job: Job) => Promise<void>, row: JobWithMetadata<unknown>) => {
    const job = Job.parse(row.data);
    if (row.singletonKey) firstQueued.delete(row.singletonKey);
    metrics?.queueLag.observe({}, Math.max(0, Date.now() - row.startAfter.getTime()) / 1000);
    try {
      await serially(() => handler(job));
      metrics?.queueJob('ok');
    } catch (err) {
      const attempts = row.retryCount + 1;
      const error = errorSummary(err).message;
      if (row.retryCount >= row.retryLimit) {
        deadLetters.push({ job, error, attempts });
        metrics?.queueJob('dead');
        logger.error('job dead-lettered', { job, error: err, attempts });
      } else {
        metrics?.queueJob('retry');
        logger.warn('job failed, retrying', { job_id: job.job_id, error: err, attempt: attempts });
      }
      throw err;
    }
  };

  const db = boss.getDb();
  const pending = async (): Promise<number> => {
    const { rows } = await db.executeSql(
      `SELECT count(*)::int AS n FROM ${schema}.job WHERE name = ANY($1) AND state IN ('created', 'retry', 'active')`,
      [QUEUES],
    );
    return Number((rows[0] as { n: number }).n);
  };

  return {
    durable: true,
    async send(job) {
      if (stopped) throw new Error('queue stopped');
      const name = queueOf(job);
      const held = heldJob(job);
      if (!held) {
        await boss.send(name, job, retries);
        return;
      }
      // The queued job of this session and kind takes the newest payload and waits for the writes to pause.
      const key = joinKey(held.kind, job.tenant_id, job.session_id);
      const now = Date.now();
      const first = firstQueued.get(key) ?? now;
      firstQueued.set(key, first);
      if (firstQueued.size > 10_000)
        for (const [k, at] of firstQueued) if (at < now - maxWaitMs - compactionMaxWaitMs) firstQueued.delete(k);
      const wait = held.kind === 'precompute' ? maxWaitMs : compactionMaxWaitMs;
      const startAfter = new Date(Math.min(now + quietMs, first + wait));
      await boss.upsert(name, job, { ...retries, singletonKey: key, startAfter });
    },
    consume(handler) {
      for (const name of QUEUES)
        void boss
          // Polled rather than woken by NOTIFY: most jobs are held or backed off, and NOTIFY fires only when queued.
          .work(name, { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: 0.5 }, async ([row]) =>
            handle(handler, row!),
          )
          .catch((err: Error) => logger.error('job worker failed to start', { queue: name, error: err }));
    },
    async drain() {
      // Held and backed-off jobs are made due now; then wait until none is left queued, retrying or running.
      await db.executeSql(
        `UPDATE ${schema}.job SET start_after = now() WHERE name = ANY($1) AND state IN ('created', 'retry')`,
        [QUEUES],
      );
      while ((await pending()) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    },
    deadLetters,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Waits for the running job; queued ones stay stored for the next instance to start.
      await boss.stop({ graceful: true, timeout: 30_000 });
    },
  };
}
