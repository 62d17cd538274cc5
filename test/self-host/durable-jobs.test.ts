// Stored jobs on PostgreSQL (pg-boss): bursts collapse into one job, failures end in the dead-letter queue, and jobs
// queued or backing off when a server is killed with -9 run once the next one starts; a webhook receiver that was
// down gets every announcement once it is back.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { postgresQueue } from '../../src/adapters/queue/postgres.js';
import type { Job } from '../../src/jobs/schema.js';
import { createLogger } from '../../src/logger.js';
import { ensureDatabase } from '../../scripts/postgres.js';
import { call, startServer, stopAll } from './processes.js';

const KEY = 'ctx_local_jobs-test-key-0123456789';
const dataDir = mkdtempSync(path.join(tmpdir(), 'durable-jobs-'));
/** A database of its own: the servers here share one pg-boss queue and must not take other tests' jobs. */
const database = (() => {
  const url = new URL(inject('postgresUrl'));
  url.pathname = `${url.pathname}_jobs`;
  return url.toString();
})();

beforeAll(() => ensureDatabase(database));
afterAll(async () => {
  await stopAll();
  rmSync(dataDir, { recursive: true, force: true });
});

const sql = async <T>(text: string, values: unknown[] = []): Promise<T[]> => {
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
};

const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('the PostgreSQL job queue', () => {
  const schema = `jobs_${randomUUID().slice(0, 8)}`;
  afterAll(() => sql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));

  it('runs one job per burst with the newest payload, and dead-letters a job that keeps failing', async () => {
    const queue = await postgresQueue({
      connectionString: database,
      logger: createLogger('silent'),
      retryLimit: 1,
      retryDelayMaxSeconds: 1,
      heartbeatSeconds: 10,
      schema,
    });
    const ran: Job[] = [];
    queue.consume(async (job) => {
      ran.push(job);
      if (job.kind === 'embed') throw new Error('embedding endpoint down');
    });
    try {
      const base = { tenant_id: 't', session_id: 's', job_id: 'j' };
      for (let v = 1; v <= 20; v++) await queue.send({ kind: 'precompute', ...base, session_version: v });
      await queue.send({ kind: 'compress', ...base, mode: 'rebuild', window_version: 1 });
      await queue.send({ kind: 'compress', ...base, mode: 'rebuild', window_version: 2 });
      await queue.send({ kind: 'embed', ...base });
      await queue.drain();
      // Twenty writes, one precompute of the newest version; explicit rebuilds are never merged.
      expect(ran.filter((j) => j.kind === 'precompute')).toEqual([expect.objectContaining({ session_version: 20 })]);
      expect(ran.filter((j) => j.kind === 'compress')).toHaveLength(2);
      // The embedding job: its first attempt and one retry, then the dead-letter queue.
      expect(ran.filter((j) => j.kind === 'embed')).toHaveLength(2);
      expect(queue.deadLetters).toEqual([
        { job: expect.objectContaining({ kind: 'embed' }), error: 'embedding endpoint down', attempts: 2 },
      ]);
      const dead = await sql<{ data: Job }>(`SELECT data FROM ${schema}.job WHERE name = 'dead-letters'`);
      expect(dead.map((d) => d.data)).toEqual([expect.objectContaining({ kind: 'embed', session_id: 's' })]);
    } finally {
      await queue.stop();
    }
  }, 60_000);
});

const flow = {
  name: 'Trip',
  model_calls: [
    { id: 'plan', model: 'gpt-4o-mini', template: 'default', budget_tokens: 600 },
    { id: 'answer', model: 'gpt-4o', template: 'compact', budget_tokens: 300 },
  ],
};

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let s = '';
    req.on('data', (d) => (s += d));
    req.on('end', () => resolve(s));
  });

describe('jobs across a kill -9', () => {
  let receiver: Server;
  let up = false;
  const refused: string[] = [];
  const accepted: { session_id: string; session_version: number }[] = [];
  beforeAll(async () => {
    receiver = createServer(async (req, res) => {
      const body = JSON.parse(await readBody(req));
      if (!up) {
        refused.push(body.session_id);
        res.writeHead(503).end();
        return;
      }
      accepted.push({ session_id: body.session_id, session_version: body.session_version });
      res.writeHead(200).end();
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise((r) => receiver.close(r)));

  it('runs every queued and retrying job after a restart; the receiver gets each announcement once', async () => {
    const env = {
      DATABASE_URL: database,
      DATA_DIR: dataDir,
      CONTEXT_API_KEY: KEY,
      CONTEXT_WEBHOOK_ALLOW_PRIVATE: 'true',
      JOB_RETRY_DELAY_MAX_SECONDS: '2',
      JOB_HEARTBEAT_SECONDS: '10',
    };
    const run = randomUUID().slice(0, 8);
    const agent = `agent-${run}`;
    const sessions = Array.from({ length: 5 }, (_, i) => `s-${run}-${i}`);
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

    const first = await startServer(env);
    const a = (method: string, route: string, body?: unknown) => call(first.url, KEY, method, route, body);
    expect(
      (
        await a('POST', '/v1/agents', {
          agent_id: agent,
          config: { webhook: { url, secret: 'whsec-0123456789abcdef' } },
        })
      ).status,
    ).toBe(201);
    expect((await a('PUT', `/v1/agents/${agent}/task-flows/trip`, flow)).status).toBe(201);
    for (const s of sessions)
      expect(
        (
          await a('POST', `/v1/sessions/${s}/turns`, {
            agent_id: agent,
            turns: [
              { role: 'user', content: 'I am planning a trip to Lisbon in May.' },
              { role: 'assistant', content: 'Hotels or apartments?' },
            ],
          })
        ).status,
      ).toBe(201);
    // Version 1 of every session is announced, and refused: those webhook jobs now back off in the queue.
    await until('a refused announcement per session', () => sessions.every((s) => refused.includes(s)));
    // Version 2 is written and the server killed before its precompute is due (it waits for the writes to pause).
    for (const s of sessions)
      await a('POST', `/v1/sessions/${s}/turns`, { turns: [{ role: 'user', content: 'Apartments near Alfama.' }] });
    await first.kill9();
    // What the kill left stored: the version-2 precomputes (held) and the version-1 announcements (backing off).
    const waiting = await sql<{ name: string; session_id: string }>(
      `SELECT name, data->>'session_id' AS session_id FROM pgboss.job
        WHERE state IN ('created', 'retry', 'active') AND data->>'session_id' = ANY($1)`,
      [sessions],
    );
    expect(waiting.filter((w) => w.name !== 'precompute' && w.name !== 'webhook')).toEqual([]);
    expect(waiting.filter((w) => w.name === 'webhook').length).toBeGreaterThanOrEqual(sessions.length);
    expect(new Set(waiting.map((w) => w.session_id))).toEqual(new Set(sessions));

    up = true;
    const second = await startServer(env);
    try {
      await until('every announcement', () => accepted.length >= 10);
      // A moment more: a duplicate would arrive now.
      await new Promise((r) => setTimeout(r, 2_000));
      const key = (d: { session_id: string; session_version: number }) => `${d.session_id}@${d.session_version}`;
      expect(accepted.map(key).sort()).toEqual(sessions.flatMap((s) => [`${s}@1`, `${s}@2`]).sort());
      const left = await sql<{ name: string; state: string }>(
        `SELECT name, state FROM pgboss.job WHERE data->>'session_id' = ANY($1) AND state <> 'completed'`,
        [sessions],
      );
      expect(left).toEqual([]);
    } finally {
      await second.stop();
    }
  }, 180_000);
});
