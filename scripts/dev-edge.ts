// `npm run dev:edge`: the Worker under `wrangler dev` against the local Neon, Upstash and Kafka-REST stand-ins. It
// migrates the database and prints the local API key, so the README walk-through works against it unchanged.
// Arguments go on to `wrangler dev` (e.g. `npm run dev:edge -- --inspector-port 9230`).
import { spawn } from 'node:child_process';
import { startKafkaGateway } from '../infra/kafka-rest-gateway.js';
import { startNeonGateway } from '../infra/neon-http-gateway.js';
import { startUpstashGateway } from '../infra/upstash-rest-gateway.js';
import { openPostgres } from '../src/adapters/store/postgres.js';
import { parseEnv } from '../src/config/env.js';
import { randomToken } from '../src/crypto.js';
import { createLogger } from '../src/logger.js';
import { createNodeDeps } from '../src/runtime/node/deps.js';
import { describeLocalKey, registerLocalKey } from '../src/runtime/node/local-key.js';
import { ensureDatabase } from './postgres.js';

const env = parseEnv(process.env);
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/context_engine_dev';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// The database, its schema and the local tenant's key, prepared from Node (the Worker never migrates).
await ensureDatabase(databaseUrl);
const store = await openPostgres(databaseUrl);
const deps = await createNodeDeps(env, { store, logger: createLogger('warn') });
const apiKey = describeLocalKey(await registerLocalKey(deps));
await deps.close();

const neon = await startNeonGateway({ databaseUrl, port: 0 });
const upstash = await startUpstashGateway({ redisUrl, token: `dev-${randomToken(8)}`, port: 0 });
const kafka = await startKafkaGateway({
  redisUrl,
  username: 'dev',
  password: randomToken(12),
  port: 0,
  prefix: 'kafka-dev:',
});
const closeStandIns = () => Promise.allSettled([neon.close(), upstash.close(), kafka.close()]);
const topics = { events: 'context-events', inbound: 'context-inbound' };
const vars = {
  DATABASE_URL: 'postgres://dev:dev@db.local.neon.tech/context_engine_dev',
  NEON_FETCH_ENDPOINT: neon.fetchEndpoint,
  UPSTASH_REDIS_REST_URL: upstash.url,
  UPSTASH_REDIS_REST_TOKEN: upstash.token,
  KAFKA_REST_URL: kafka.url,
  KAFKA_REST_USERNAME: kafka.username,
  KAFKA_REST_PASSWORD: kafka.password,
  KAFKA_EVENTS_TOPIC: topics.events,
  KAFKA_INBOUND_TOPIC: topics.inbound,
};
const base = `http://${env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST}:${env.PORT}`;
console.log(
  `stand-ins: Neon ${neon.fetchEndpoint} → ${new URL(databaseUrl).pathname.slice(1)}, Upstash ${upstash.url} → ${redisUrl}`,
);
console.log(`           Kafka REST ${kafka.url} (user ${kafka.username}, password ${kafka.password}) → Redis Streams;`);
console.log(
  `           domain events go to "${topics.events}", the cron reads external events from "${topics.inbound}"`,
);
console.log(`cron:      curl '${base}/__scheduled?cron=*/5+*+*+*+*'`);
console.log(`API key:   ${apiKey.shown}`);
const wrangler = spawn(
  'wrangler',
  [
    'dev',
    '--port',
    String(env.PORT),
    '--ip',
    env.HOST,
    '--test-scheduled',
    ...process.argv.slice(2),
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ],
  { stdio: 'inherit', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  // wrangler stops workerd on SIGTERM; wait for it so the port is free when this exits.
  const exited =
    wrangler.exitCode === null ? new Promise((resolve) => wrangler.once('exit', resolve)) : Promise.resolve();
  wrangler.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  await closeStandIns();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
wrangler.on('exit', (code) => {
  if (stopping) return;
  void closeStandIns().then(() => process.exit(code ?? 0));
});
