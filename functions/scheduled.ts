// Cron maintenance: re-queue compression for windows past their limit, in case an enqueue after a write was lost.
import { overdueCompressions } from '../src/services/maintenance.js';
import { runtimeFor, type WorkerEnv } from './env.js';

export async function handleScheduled(controller: ScheduledController, env: WorkerEnv): Promise<void> {
  const { deps } = await runtimeFor(env);
  const jobs = await overdueCompressions(deps);
  // One subrequest for the whole batch instead of one per session.
  if (jobs.length > 0) await env.JOBS.sendBatch(jobs.map((body) => ({ body, contentType: 'json' as const })));
  deps.logger.info('maintenance run', { cron: controller.cron, queued: jobs.length });
}
