// Two Node instances on one PostgreSQL and one Redis: a write on either is read at once on the other (cache,
// session copies, precomputed contexts), and one rate limit holds across both.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureDatabase } from '../../scripts/postgres.js';
import { call, type ServerProcess, startServer, stopAll } from './processes.js';

const ADMIN = `admin-${randomUUID()}`;
const dataDir = mkdtempSync(path.join(tmpdir(), 'two-instances-'));
const database = (() => {
  const url = new URL(inject('postgresUrl'));
  url.pathname = `${url.pathname}_pair`;
  return url.toString();
})();

describe('two instances on one PostgreSQL and Redis', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  beforeAll(async () => {
    await ensureDatabase(database);
    const env = {
      DATABASE_URL: database,
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATA_DIR: dataDir,
      CONTEXT_ADMIN_KEY: ADMIN,
      RATE_LIMIT_PER_MINUTE: '40',
    };
    // One after the other: the first applies the migrations and installs the queue's schema.
    a = await startServer(env);
    b = await startServer(env);
  }, 120_000);
  afterAll(async () => {
    await stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A key of a fresh tenant, so its requests are all this test counts. */
  const freshKey = async () => {
    const created = await call(a.url, ADMIN, 'POST', '/v1/admin/keys', { tenant: `t-${randomUUID().slice(0, 8)}` });
    expect(created.status).toBe(201);
    return created.json.key as string;
  };

  it('a write on one instance is never answered stale by the other', async () => {
    const key = await freshKey();
    const on = (s: ServerProcess) => (method: string, route: string, body?: unknown) =>
      call(s.url, key, method, route, body);
    const write = (s: ServerProcess, content: string) =>
      on(s)('POST', '/v1/sessions/s/turns', { turns: [{ role: 'user', content }] });
    expect((await write(a, 'We fly to Lisbon on the 3rd of May.')).status).toBe(201);
    // Warm both instances: the default context (cached, then precomputed) and a query (the session copy).
    for (const s of [a, b]) {
      await on(s)('POST', '/v1/sessions/s/context', { budget_tokens: 2000 });
      await on(s)('POST', '/v1/sessions/s/context', { query: 'marker', budget_tokens: 2000 });
    }
    // Within the 40 requests a minute this key may make (the next test checks that limit).
    for (let i = 1; i <= 10; i++) {
      const [writer, reader] = i % 2 ? [a, b] : [b, a];
      const marker = `marker${i}x`;
      expect((await write(writer, `Remember the code ${marker} for the hotel.`)).status).toBe(201);
      for (const body of [{ budget_tokens: 2000 }, { query: `code ${marker}`, budget_tokens: 2000 }]) {
        const answer = await on(reader)('POST', '/v1/sessions/s/context', body);
        expect(answer.status).toBe(200);
        expect(answer.json.session_version, JSON.stringify(body)).toBe(i + 1);
        expect(answer.json.rendered.text).toContain(marker);
      }
    }
    const listed = await on(b)('GET', '/v1/sessions/s/turns?limit=100');
    expect(listed.json.turns.map((t: { sequence: number }) => t.sequence)).toEqual(
      Array.from({ length: 11 }, (_, i) => i + 1),
    );
    // A delete on one is seen by the other at once.
    expect((await on(a)('DELETE', '/v1/sessions/s')).status).toBe(204);
    expect((await on(b)('POST', '/v1/sessions/s/context', { budget_tokens: 2000 })).status).toBe(404);
  }, 120_000);

  it('counts one rate limit across both instances', async () => {
    const key = await freshKey();
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++)
      for (const s of [a, b]) statuses.push((await call(s.url, key, 'GET', '/v1/sessions/none')).status);
    // 40 a minute for the key, wherever the requests land: 40 answered (404, no such session), then 429.
    expect(statuses.filter((s) => s === 404)).toHaveLength(40);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    expect(statuses.slice(40)).toEqual(Array(10).fill(429));
  }, 60_000);
});
