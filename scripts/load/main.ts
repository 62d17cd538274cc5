// `npm run load`: a mixed write/query workload at a fixed rate against Node servers on PostgreSQL + Redis (round
// robin over --instances), then a check that every acknowledged write is stored gap-free. Options: docs/development.md.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { randomToken } from '../../src/crypto.js';
import { percentile } from '../eval/score.js';
import { ensureDatabase } from '../postgres.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    // Several rates, one stage each (--duration seconds apiece), on the same servers: where p99 stays under 500 ms.
    steps: { type: 'string' },
    instances: { type: 'string', default: '1' },
    // Requests per minute per key through the shared Redis limiter; 0 (the default) measures without it.
    'rate-limit': { type: 'string', default: '0' },
    duration: { type: 'string', default: '300' },
    sessions: { type: 'string', default: '50' },
    'write-share': { type: 'string', default: '0.4' },
    budget: { type: 'string', default: '1000' },
    'max-in-flight': { type: 'string', default: '256' },
    database: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/context_engine_load' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    // Extra Node options for the server process (e.g. a CPU profile); NODE_OPTIONS does not accept all of them.
    'server-node-args': { type: 'string', default: '' },
  },
});
const rates = (values.steps ?? values.rate).split(',').map(Number);
const instances = Number(values.instances);
const rateLimit = Number(values['rate-limit']);
const durationS = Number(values.duration);
const sessions = Number(values.sessions);
const writeShare = Number(values['write-share']);
const budget = Number(values.budget);
const maxInFlight = Number(values['max-in-flight']);
if (
  ![...rates, durationS, sessions, writeShare, budget, maxInFlight, instances, rateLimit].every(Number.isFinite) ||
  rates.some((r) => r <= 0) ||
  durationS <= 0 ||
  !Number.isInteger(instances) ||
  instances < 1
)
  throw new Error(
    '--rate (or --steps), --duration, --sessions, --write-share, --budget, --max-in-flight, --instances and --rate-limit must be numbers',
  );
// Loopback only: the workload never leaves this machine.
for (const url of [values.database, values.redis])
  if (!/@?(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url)) throw new Error(`refusing a non-loopback target: ${url}`);

const log = (msg: string) => process.stderr.write(`${msg}\n`);

await ensureDatabase(values.database);
const apiKey = `load-${randomToken(12)}`;
const serverNodeArgs = values['server-node-args'].split(/\s+/).filter(Boolean);
/**
 * One server as the packaged command runs it (bin/context-engine.js): a young generation large enough that a
 * request's garbage dies there instead of piling up in the old generation until a collection stalls the process.
 */
function startServer(port: number) {
  return spawn(
    process.execPath,
    ['--max-semi-space-size=64', ...serverNodeArgs, '--import', 'tsx', 'src/runtime/node/main.ts'],
    {
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: values.database,
        REDIS_URL: values.redis,
        CONTEXT_API_KEY: apiKey,
        RATE_LIMIT_PER_MINUTE: String(rateLimit),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}
const firstPort = 21000 + Math.floor(Math.random() * 20000);
const bases: string[] = [];
const servers: ReturnType<typeof spawn>[] = [];
const stopServer = () => servers.forEach((server) => server.kill('SIGTERM'));
process.on('exit', stopServer);
// One after the other: the first applies migrations and installs the job queue's schema.
for (let n = 0; n < instances; n++) {
  servers.push(startServer(firstPort + n));
  bases.push(`http://127.0.0.1:${firstPort + n}`);
  await waitForHealth(bases[n]!);
}
log(
  `${instances} server(s) up at ${bases.join(', ')} (PostgreSQL + Redis, round robin); ${rates.join(', ')} req/s for ${durationS} s each, ${Math.round(writeShare * 100)} % writes over ${sessions} sessions`,
);

const runId = randomToken(6).replace(/[^A-Za-z0-9]/g, 'x');
const sessionId = (i: number) => `load-${runId}-${i % sessions}`;
const topics = [
  'flight to Lisbon',
  'hotel near Alfama',
  'invoice 4471 for Acme',
  'passport renewal',
  'museum tickets',
  'train to Porto',
];
let latencies = { write: [] as number[], query: [] as number[] };
let errors: string[] = [];
const acked: { session: string; externalId: string }[] = [];
let sent = 0;
let inFlight = 0;
let skipped = 0;

async function one(i: number) {
  const write = (i * 7919) % 1000 < writeShare * 1000;
  const session = sessionId(i);
  const topic = topics[i % topics.length]!;
  const started = performance.now();
  const externalId = `L${i}`;
  const body = write
    ? {
        turns: [
          {
            role: i % 2 ? 'assistant' : 'user',
            content: `Turn ${i}: let us talk about the ${topic}; reference ${runId}-${i}.`,
            external_id: externalId,
          },
        ],
      }
    : { query: `What did we decide about the ${topic}?`, budget_tokens: budget };
  try {
    const base = bases[i % bases.length]!;
    const res = await fetch(`${base}/v1/sessions/${session}/${write ? 'turns' : 'context'}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${apiKey}`,
        'content-type': 'application/json',
        ...(write ? { 'idempotency-key': `${runId}-${i}` } : {}),
      },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
    // A query may answer 404: a session's first write may not have landed yet.
    const ok = write ? res.status === 201 : res.status === 200 || res.status === 404;
    if (!ok) errors.push(`${write ? 'write' : 'query'} ${res.status}`);
    else if (write) acked.push({ session, externalId });
  } catch (err) {
    errors.push(`${write ? 'write' : 'query'} ${(err as Error).message}`);
  } finally {
    latencies[write ? 'write' : 'query'].push(performance.now() - started);
    inFlight--;
  }
}

/** One stage at `rate` req/s for --duration seconds; its latency table, and whether it held p99 < 500 ms. */
async function stage(rate: number) {
  latencies = { write: [], query: [] };
  errors = [];
  skipped = 0;
  const first = sent;
  const startedAt = performance.now();
  const total = first + Math.round(rate * durationS);
  const pending: Promise<void>[] = [];
  let lastReport = startedAt;
  while (sent < total) {
    const due = first + Math.floor(((performance.now() - startedAt) / 1000) * rate);
    while (sent < Math.min(due, total)) {
      if (inFlight >= maxInFlight) {
        skipped++;
        sent++;
        continue;
      }
      inFlight++;
      pending.push(one(sent++));
    }
    if (performance.now() - lastReport >= 10_000) {
      lastReport = performance.now();
      const done = latencies.write.length + latencies.query.length;
      log(
        `  ${Math.round((lastReport - startedAt) / 1000)} s: ${done} done, ${inFlight} in flight, ${errors.length} errors, p95 ${percentile([...latencies.write, ...latencies.query], 95).toFixed(1)} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(pending);
  const elapsedS = (performance.now() - startedAt) / 1000;

  const all = [...latencies.write, ...latencies.query];
  console.log(
    `\n${instances} instance(s) at ${rate} req/s — requests: ${all.length} in ${elapsedS.toFixed(1)} s = ${(all.length / elapsedS).toFixed(1)} req/s (target ${rate}); not sent (over ${maxInFlight} in flight): ${skipped}`,
  );
  console.log(`errors: ${errors.length}${errors.length ? ` (first: ${errors.slice(0, 5).join('; ')})` : ''}`);
  console.log('| kind | count | p50 ms | p95 ms | p99 ms | max ms |');
  console.log('|---|---|---|---|---|---|');
  for (const [kind, xs] of [
    ['write', latencies.write],
    ['query', latencies.query],
    ['all', all],
  ] as const)
    console.log(
      `| ${kind} | ${xs.length} | ${percentile(xs, 50).toFixed(1)} | ${percentile(xs, 95).toFixed(1)} | ${percentile(xs, 99).toFixed(1)} | ${Math.max(0, ...xs).toFixed(1)} |`,
    );
  return { rate, p99: percentile(all, 99), errors: errors.length, skipped };
}

const results = [];
for (const rate of rates) results.push(await stage(rate));
const stageErrors = results.reduce((n, r) => n + r.errors, 0);
if (rates.length > 1) {
  const held = results.filter((r) => r.p99 < 500 && r.errors === 0 && r.skipped === 0);
  console.log(
    `\nhighest rate with p99 < 500 ms and no errors on ${instances} instance(s): ${held.length ? `${Math.max(...held.map((r) => r.rate))} req/s` : 'none of the steps'}`,
  );
}

// Every acknowledged write must be stored, once, in a gap-free order per session.
const db = new pg.Client({ connectionString: values.database });
await db.connect();
const { rows } = await db.query<{ session_id: string; external_id: string; sequence: number }>(
  `SELECT session_id, external_id, sequence FROM turns WHERE tenant_id = 'local' AND session_id LIKE $1 ORDER BY session_id, sequence`,
  [`load-${runId}-%`],
);
await db.end();
const stored = new Set(rows.map((r) => `${r.session_id}/${r.external_id}`));
const missing = acked.filter((a) => !stored.has(`${a.session}/${a.externalId}`));
const bySession = new Map<string, number[]>();
for (const r of rows) bySession.set(r.session_id, [...(bySession.get(r.session_id) ?? []), r.sequence]);
const gaps = [...bySession.values()].filter((seqs) => seqs.some((s, i) => s !== i + 1)).length;
console.log(
  `data check: ${acked.length} acknowledged writes, ${rows.length} turns stored, ${missing.length} missing, ${rows.length - acked.length} unacknowledged extra, ${gaps} sessions with sequence gaps`,
);

stopServer();
// With --steps the higher rates may overload the servers on purpose: only the data check decides then.
const failed = (rates.length === 1 && stageErrors > 0) || missing.length > 0 || gaps > 0;
process.exit(failed ? 1 : 0);

async function waitForHealth(url: string) {
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('server did not become healthy within 60 s');
}
