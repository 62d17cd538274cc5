// Cron maintenance: re-queues compression for windows past their limit (in case an enqueue after a write was lost) and
// deletes traces past their retention; then reads the external events waiting on the Kafka inbound topic, if any.
import { consumeInbound } from '../src/services/events/inbound.js';
import { overdueCompressions } from '../src/services/maintenance.js';
import { sweepTraces } from '../src/services/traces.js';
import { runtimeFor, type WorkerEnv } from './env.js';

export async function handleScheduled(controller: ScheduledController, env: WorkerEnv): Promise<void> {
  const { deps, inbound } = await runtimeFor(env);
  const jobs = await overdueCompressions(deps);
  // One subrequest for the whole batch instead of one per session.
  if (jobs.length > 0) await env.JOBS.sendBatch(jobs.map((body) => ({ body, contentType: 'json' as const })));
  const tracesDeleted = await sweepTraces(deps).catch((err: Error) => {
    deps.logger.warn('trace retention sweep failed', { error: err.message });
    return 0;
  });
  deps.logger.info('maintenance run', { cron: controller.cron, queued: jobs.length, traces_deleted: tracesDeleted });
  if (inbound) {
    // A failure here is retried by the next run from the last committed offset; the sweep above already happened.
    try {
      const result = await consumeInbound(deps, inbound);
      deps.logger.info('inbound events', { cron: controller.cron, topic: inbound.topic, ...result });
    } catch (err) {
      deps.logger.warn('reading inbound events failed', { topic: inbound.topic, error: (err as Error).message });
    }
  }
}
