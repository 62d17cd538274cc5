// Child process of global-setup.ts in plain Node (workerd cannot load pg or ioredis): migrates the test database,
// starts the stand-ins, a webhook receiver and an OTLP receiver, prints their settings as one JSON line, stops when stdin closes.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startKafkaGateway } from '../../infra/kafka-rest-gateway.js';
import { startNeonGateway } from '../../infra/neon-http-gateway.js';
import { startUpstashGateway } from '../../infra/upstash-rest-gateway.js';
import { ensureDatabase } from '../../scripts/postgres.js';
import { openPostgres } from '../../src/adapters/store/postgres.js';
import { hashedNgramEmbedder } from '../../src/embedder.js';
import { embeddingsJson } from '../model-server.js';
import { startOtlpReceiver } from '../otlp-receiver.js';

const DATABASE = process.env.TEST_DATABASE ?? 'context_engine_test';
const adminUrl = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const databaseUrl = new URL(adminUrl);
databaseUrl.pathname = `/${DATABASE}`;
await ensureDatabase(databaseUrl.toString());
// The Node suite migrates the same database; openPostgres serialises concurrent runs with an advisory lock.
const store = await openPostgres(databaseUrl.toString(), { max: 1 });
await store.close();

const neon = await startNeonGateway({ databaseUrl: databaseUrl.toString(), port: 0 });
const upstash = await startUpstashGateway({ redisUrl, token: randomBytes(16).toString('hex'), port: 0 });
// Topics live under their own prefix; the tests delete theirs. A short redelivery delay keeps retry tests quick.
const kafka = await startKafkaGateway({
  redisUrl,
  username: 'workers-test',
  password: randomBytes(16).toString('hex'),
  port: 0,
  prefix: 'kafka-workers-test:',
  redeliverAfterMs: 1_000,
});

const embeddings = hashedNgramEmbedder(64);

// Webhook receiver (and embedding model, POST /v1/embeddings): records each POST by path; a path under /fail-first/
// answers its first delivery 503, so a test can watch the retry. GET /deliveries/<path> lists what arrived there.
const deliveries = new Map<string, { body: string; headers: Record<string, string>; status: number }[]>();
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    const url = req.url ?? '/';
    if (req.method === 'GET' && url.startsWith('/deliveries/')) {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(deliveries.get(url.slice('/deliveries'.length)) ?? []));
      return;
    }
    const list = deliveries.get(url) ?? [];
    if (req.method === 'POST' && url === '/v1/embeddings') {
      // An OpenAI-compatible embedding model for the Worker's turn vectors: deterministic spelling vectors.
      const input = JSON.parse(body).input as string[];
      list.push({ body, headers: {}, status: 200 });
      deliveries.set(url, list);
      void embeddings.embed(input).then((vectors) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify(
            embeddingsJson(
              'stand-in',
              vectors.map((v) => Array.from(v)),
            ),
          ),
        ),
      );
      return;
    }
    const status = url.startsWith('/fail-first/') && list.length === 0 ? 503 : 200;
    list.push({ body, headers: req.headers as Record<string, string>, status });
    deliveries.set(url, list);
    res.writeHead(status).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const otlp = await startOtlpReceiver();

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([
    neon.close(),
    upstash.close(),
    kafka.close(),
    new Promise((r) => receiver.close(r)),
    otlp.close(),
  ]);
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.stdin.on('close', () => void stop());
process.stdin.resume();

process.stdout.write(
  `${JSON.stringify({
    neonFetchEndpoint: neon.fetchEndpoint,
    upstashUrl: upstash.url,
    upstashToken: upstash.token,
    kafkaUrl: kafka.url,
    kafkaUsername: kafka.username,
    kafkaPassword: kafka.password,
    webhookReceiverUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
    otlpReceiverUrl: otlp.url,
  })}\n`,
);
