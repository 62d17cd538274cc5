// Queue consumers: background jobs (compression, context precompute, webhooks, turn embeddings, learned memories),
// and the dead-letter queue their consumer hands up on.
import { runJob } from '../src/jobs/run.js';
import { Job } from '../src/jobs/schema.js';
import { errorSummary } from '../src/logger.js';
import { runtimeFor, type WorkerEnv } from './env.js';

/** wrangler.toml names every dead-letter queue with this suffix, in every environment. */
export const DEAD_LETTER_SUFFIX = '-dlq';

const RETRY_BASE_SECONDS = 10;
const RETRY_MAX_SECONDS = 15 * 60;

/** Delay before the next attempt: 10 s, 20 s, 40 s, … capped at 15 min. `attempts` counts this delivery (1 first). */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** Math.max(0, attempts - 1));
}

export async function handleQueue(batch: MessageBatch<unknown>, env: WorkerEnv): Promise<void> {
  if (batch.queue.endsWith(DEAD_LETTER_SUFFIX)) return recordDeadLetters(batch);

  let deps;
  try {
    ({ deps } = await runtimeFor(env));
  } catch (err) {
    // Nothing can run without dependencies; each message still gets its own retry and backoff.
    log('error', 'queue consumer start failed', { queue: batch.queue, error: errorSummary(err) });
    for (const msg of batch.messages) msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) });
    return;
  }

  // One message at a time, each acked or retried on its own, so one failing job never redelivers the others.
  for (const msg of batch.messages) {
    const parsed = Job.safeParse(msg.body);
    if (!parsed.success) {
      // A malformed message can never succeed: record it like a dead letter instead of retrying it. Its body is
      // not logged: a message that is not a job may hold anything.
      log('error', 'malformed job dropped', { queue: batch.queue, message_id: msg.id, attempts: msg.attempts });
      msg.ack();
      continue;
    }
    const job = parsed.data;
    try {
      const result = await runJob(deps, job);
      deps.logger.debug('job done', { job_id: job.job_id, message_id: msg.id, ...result });
      msg.ack();
    } catch (err) {
      const delaySeconds = retryDelaySeconds(msg.attempts);
      deps.logger.warn('job failed, retrying', {
        job_id: job.job_id,
        message_id: msg.id,
        attempt: msg.attempts,
        delay_s: delaySeconds,
        error: err,
      });
      msg.retry({ delaySeconds });
    }
  }
}

/** Jobs that used up their retries. There is no table for them: a structured log line is the record. */
function recordDeadLetters(batch: MessageBatch<unknown>): void {
  for (const msg of batch.messages) {
    log('error', 'job dead-lettered', {
      queue: batch.queue,
      message_id: msg.id,
      attempts: msg.attempts,
      enqueued_at: msg.timestamp.toISOString(),
      job: msg.body,
    });
    msg.ack();
  }
}

function log(level: 'error' | 'warn', msg: string, fields: Record<string, unknown>) {
  console.error(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
}
