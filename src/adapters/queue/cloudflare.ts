// Cloudflare Queues producer. The consumer (functions/queue.ts) runs the same job handler as the Node queue.
import type { Job } from '../../jobs/schema.js';
import type { Queue } from '../../ports.js';

/**
 * The part of a Workers `Queue<Job>` binding this adapter uses. Declared here so src/ type-checks without the
 * Workers ambient types; a real binding satisfies it structurally.
 */
export interface QueueBinding<Body> {
  send(
    body: Body,
    options?: { contentType?: 'json' | 'text' | 'bytes' | 'v8'; delaySeconds?: number },
  ): Promise<unknown>;
}

export function cloudflareQueue(binding: QueueBinding<Job>): Queue {
  return {
    async send(job) {
      // JSON rather than the default structured clone: jobs stay readable in the dashboard and in DLQ logs.
      await binding.send(job, { contentType: 'json' });
    },
  };
}
