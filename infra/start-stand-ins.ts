// Starts the local Neon, Upstash and Kafka-REST stand-ins on fixed ports for manual runs, e.g. to point `wrangler dev`
// at local PostgreSQL and Redis: `npx tsx infra/start-stand-ins.ts`. Test infrastructure only.
import { redactUrl } from './http.js';
import { startKafkaGateway, type KafkaGateway } from './kafka-rest-gateway.js';
import { startNeonGateway, type NeonGateway } from './neon-http-gateway.js';
import { startUpstashGateway, type UpstashGateway } from './upstash-rest-gateway.js';

const env = process.env;
const databaseUrl = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const host = env.STAND_IN_HOST ?? '127.0.0.1';
const neonPort = port('NEON_GATEWAY_PORT', 4444);
const upstashPort = port('UPSTASH_GATEWAY_PORT', 8079);
const token = env.UPSTASH_GATEWAY_TOKEN ?? 'local-stand-in-token';
const kafkaPort = port('KAFKA_GATEWAY_PORT', 8082);
const kafkaUsername = env.KAFKA_GATEWAY_USERNAME ?? 'local';
const kafkaPassword = env.KAFKA_GATEWAY_PASSWORD ?? 'local-stand-in-password';

function port(name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new Error(`${name} must be a port number, got ${raw}`);
  }
  return value;
}

let neon: NeonGateway | undefined;
let upstash: UpstashGateway | undefined;
let kafka: KafkaGateway | undefined;
try {
  neon = await startNeonGateway({ databaseUrl, port: neonPort, host });
  upstash = await startUpstashGateway({ redisUrl, token, port: upstashPort, host });
  kafka = await startKafkaGateway({
    redisUrl,
    username: kafkaUsername,
    password: kafkaPassword,
    port: kafkaPort,
    host,
  });
} catch (err) {
  await Promise.allSettled([neon?.close(), upstash?.close(), kafka?.close()]);
  console.error(`could not start the stand-ins: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

console.log(`Neon HTTP stand-in:     ${neon.fetchEndpoint}  -> ${redactUrl(databaseUrl, databaseUrl)}`);
console.log(`Upstash REST stand-in:  ${upstash.url}  -> ${redactUrl(redisUrl, redisUrl)}`);
console.log(`Kafka REST stand-in:    ${kafka.url}  -> Redis Streams in ${redactUrl(redisUrl, redisUrl)}`);
console.log('');
console.log('Environment for the service (the Neon connection string only has to look valid; the stand-in');
console.log('always uses its own database):');
console.log(`  NEON_FETCH_ENDPOINT=${neon.fetchEndpoint}`);
console.log(`  DATABASE_URL=${redactUrl(databaseUrl, databaseUrl)}`);
console.log(`  UPSTASH_REDIS_REST_URL=${upstash.url}`);
console.log(`  UPSTASH_REDIS_REST_TOKEN=${upstash.token}`);
console.log(`  KAFKA_REST_URL=${kafka.url}`);
console.log(`  KAFKA_REST_USERNAME=${kafka.username}`);
console.log(`  KAFKA_REST_PASSWORD=${kafka.password}`);
console.log('  (and KAFKA_EVENTS_TOPIC / KAFKA_INBOUND_TOPIC for the topics to use)');
console.log('');
console.log('Ctrl-C to stop.');

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping`);
  await Promise.allSettled([neon?.close(), upstash?.close(), kafka?.close()]);
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
