// `npm start`: the whole service in one process. Embedded PGlite in DATA_DIR unless DATABASE_URL is set.
import path from 'node:path';
import { parseEnv } from '../../config/env.js';
import { defaults } from '../../config/tuning.js';
import { consumeInbound } from '../../services/events/inbound.js';
import { overdueCompressions, statisticsBeat } from '../../services/maintenance.js';
import { sweepTraces } from '../../services/traces.js';
import { buildApp } from '../../http/routes/index.js';
import { exitIfInUse } from './data-dir-lock.js';
import { createNodeDeps } from './deps.js';
import { bannerLines } from './banner.js';
import { describeLocalKey, registerLocalKey } from './local-key.js';
import { serveApp } from './serve.js';

const env = parseEnv(process.env);
// Another process has the embedded database open: say which, and start nothing.
const deps = await createNodeDeps(env, { command: 'npm start' }).catch(exitIfInUse);

const apiKey = describeLocalKey(await registerLocalKey(deps));

const app = buildApp(deps);
const server = serveApp(app, { port: env.PORT, hostname: env.HOST }, (info) => {
  const url = `http://${info.address.includes(':') ? `[${info.address}]` : info.address}:${info.port}`;
  const database = env.DATABASE_URL
    ? 'PostgreSQL (DATABASE_URL)'
    : `embedded PGlite in ${path.resolve(env.DATA_DIR, 'pglite')}`;
  deps.dataDirLock?.serving(url);
  const jobs = deps.queue.durable
    ? 'stored in PostgreSQL, shared by every instance'
    : 'in this process (a crash drops the queued ones)';
  for (const line of bannerLines({ url, database, jobs, apiKey })) console.log(line);
});

const stopStatistics = statisticsBeat(deps, {
  analyzed: (tables) => deps.logger.info('analyzed', { tables }),
  failed: (err) => deps.logger.warn('analyze failed', { error: err.message }),
});

// Maintenance sweep: re-queue compression that a crash between a write and its enqueue would otherwise lose. Planner
// statistics are kept current on a shorter beat of their own.
const sweep = setInterval(() => {
  overdueCompressions(deps)
    .then((jobs) => Promise.all(jobs.map((job) => deps.queue.send(job))))
    .catch((err: Error) => deps.logger.warn('maintenance sweep failed', { error: err.message }));
  sweepTraces(deps).catch((err: Error) => deps.logger.warn('trace retention sweep failed', { error: err.message }));
  // External events from Kafka, on the same beat as the Worker's cron reads them.
  if (deps.inbound)
    consumeInbound(deps, deps.inbound)
      .then((r) => (r.processed || r.rejected ? deps.logger.info('inbound events', { ...r }) : undefined))
      .catch((err: Error) => deps.logger.warn('reading inbound events failed', { error: err.message }));
}, defaults.maintenanceIntervalMs);
sweep.unref();

let closing = false;
const shutdown = async (signal: string) => {
  if (closing) return;
  closing = true;
  deps.logger.info('shutting down', { signal });
  clearInterval(sweep);
  stopStatistics();
  server.close();
  // Stored jobs wait in PostgreSQL for the next instance; in-process ones are run now or they would be lost.
  if (!deps.queue.durable) await deps.queue.drain();
  await deps.close();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
