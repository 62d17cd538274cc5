// The job dispatcher: both queue consumers (the Node in-process queue and the Workers queue) run every job here.
import type { Deps } from '../ports.js';
import { compressSession } from '../services/compaction.js';
import { learnMemories } from '../services/learn-memories.js';
import { enqueuePrecompute, precomputeContext } from '../services/precompute.js';
import { embedTurns } from '../services/turn-vectors.js';
import { deliverWebhook } from '../services/webhooks.js';
import type { Job, JobResult } from './schema.js';

export async function runJob(deps: Deps, job: Job): Promise<JobResult> {
  switch (job.kind) {
    case 'compress': {
      const result = await compressSession(deps, job.tenant_id, job.session_id, job.mode, job.window_version);
      // A compaction moves the session version past any precompute queued by the write before it, which then skips:
      // queue the one that warms the compressed context.
      if (result.status === 'compressed' && result.session_version !== undefined)
        await enqueuePrecompute(deps, job.tenant_id, job.session_id, result.session_version);
      return result;
    }
    case 'precompute':
      return precomputeContext(deps, job);
    case 'webhook':
      return deliverWebhook(deps, job);
    case 'embed':
      return embedTurns(deps, job);
    case 'learn':
      return learnMemories(deps, job);
  }
}
