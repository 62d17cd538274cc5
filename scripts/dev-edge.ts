// `npm run dev:edge`: the Worker under `wrangler dev` (workerd, local queues and cron) against the local Neon and
// Upstash stand-ins over this machine's PostgreSQL and Redis. Migrates the database and prints the local API key,
// so the README walk-through works against it unchanged.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { startNeonGateway } from '../infra/neon-http-gateway.js';
import { startUpstashGateway } from '../infra/upstash-rest-gateway.js';
import { openPostgres } from '../src/adapters/store/postgres.js';
import { parseEnv } from '../src/config.js';
import { randomToken } from '../src/crypto.js';
import { createLogger } from '../src/logger.js';
import { createNodeDeps } from '../src/runtime/node/deps.js';
import { createApiKey } from '../src/services/auth.js';

const env = parseEnv(process.env);
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/context_engine_dev';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// The database, its schema and the local tenant's key, prepared from Node (the Worker never migrates).
const dbName = new URL(databaseUrl).pathname.slice(1);
const admin = new URL(databaseUrl);
admin.pathname = '/postgres';
const client = new pg.Client({ connectionString: admin.toString() });
await client.connect();
if (!(await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])).rowCount)
  await client.query(`CREATE DATABASE "${dbName.replace(/"/g, '')}"`);
await client.end();
const store = await openPostgres(databaseUrl);
const deps = await createNodeDeps(env, { store, logger: createLogger('warn') });
mkdirSync(env.DATA_DIR, { recursive: true });
const keyFile = `${env.DATA_DIR}/api-key`;
const apiKey = env.CONTEXT_API_KEY ?? (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : `ctx_local_${randomToken()}`);
if (!existsSync(keyFile)) writeFileSync(keyFile, `${apiKey}\n`, { mode: 0o600 });
await createApiKey(deps, { tenantId: 'local', key: apiKey, scopes: ['read', 'write'] });
await deps.close();

const neon = await startNeonGateway({ databaseUrl, port: 0 });
const upstash = await startUpstashGateway({ redisUrl, token: `dev-${randomToken(8)}`, port: 0 });
const vars = {
  DATABASE_URL: 'postgres://dev:dev@db.local.neon.tech/context_engine_dev',
  NEON_FETCH_ENDPOINT: neon.fetchEndpoint,
  UPSTASH_REDIS_REST_URL: upstash.url,
  UPSTASH_REDIS_REST_TOKEN: upstash.token,
};
console.log(`stand-ins: Neon ${neon.fetchEndpoint} → ${dbName}, Upstash ${upstash.url} → ${redisUrl}`);
console.log(`API key:   ${apiKey}`);
const wrangler = spawn(
  'wrangler',
  ['dev', '--port', String(env.PORT), '--ip', env.HOST, '--test-scheduled', ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`])],
  { stdio: 'inherit', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
);
const stop = async () => {
  wrangler.kill('SIGTERM');
  await Promise.allSettled([neon.close(), upstash.close()]);
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
wrangler.on('exit', (code) => {
  void Promise.allSettled([neon.close(), upstash.close()]).then(() => process.exit(code ?? 0));
});
