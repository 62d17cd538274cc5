// `npm start`: the whole service in one process. Embedded PGlite in DATA_DIR unless DATABASE_URL is set.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { defaults, parseEnv } from '../../config.js';
import { overdueCompressions } from '../../services/maintenance.js';
import { randomToken } from '../../crypto.js';
import { buildApp } from '../../http/routes/index.js';
import { createApiKey } from '../../services/auth.js';
import { createNodeDeps } from './deps.js';

const LOCAL_TENANT = 'local';

const env = parseEnv(process.env);
const deps = await createNodeDeps(env);

// The local tenant's key: CONTEXT_API_KEY if given, otherwise one generated once and kept in DATA_DIR.
let apiKey = env.CONTEXT_API_KEY;
if (!apiKey) {
  const keyFile = path.join(env.DATA_DIR, 'api-key');
  if (existsSync(keyFile)) apiKey = readFileSync(keyFile, 'utf8').trim();
  else {
    apiKey = `ctx_local_${randomToken()}`;
    writeFileSync(keyFile, `${apiKey}\n`, { mode: 0o600 });
  }
}
await createApiKey(deps, { tenantId: LOCAL_TENANT, key: apiKey, scopes: ['read', 'write'] });

const app = buildApp(deps);
const server = serve({ fetch: app.fetch, port: env.PORT, hostname: env.HOST }, (info) => {
  const url = `http://${info.address.includes(':') ? `[${info.address}]` : info.address}:${info.port}`;
  const database = env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${path.resolve(env.DATA_DIR, 'pglite')}`;
  console.log(`context engine listening on ${url}`);
  console.log(`  database: ${database}`);
  console.log(`  API key:  ${apiKey}`);
  console.log(`  docs:     ${url}/openapi.json`);
  console.log(`  try:      curl -s ${url}/v1/sessions/demo/context -H 'Authorization: Bearer ${apiKey}' -H 'content-type: application/json' -d '{"budget_tokens":500}'`);
});

// Maintenance sweep: re-queue compression that a crash between a write and its enqueue would otherwise lose.
const sweep = setInterval(() => {
  overdueCompressions(deps)
    .then((jobs) => Promise.all(jobs.map((job) => deps.queue.send(job))))
    .catch((err: Error) => deps.logger.warn('maintenance sweep failed', { error: err.message }));
}, defaults.maintenanceIntervalMs);
sweep.unref();

let closing = false;
const shutdown = async (signal: string) => {
  if (closing) return;
  closing = true;
  deps.logger.info('shutting down', { signal });
  clearInterval(sweep);
  server.close();
  await deps.queue.drain();
  await deps.close();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
