// Cloudflare Workers entrypoint. Each handler is thin; the logic lives in src/ and is shared with the Node server.
import type { WorkerEnv } from './env.js';
import { handleFetch } from './fetch.js';
import { handleQueue } from './queue.js';
import { handleScheduled } from './scheduled.js';

export default {
  fetch: handleFetch,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<WorkerEnv>;
