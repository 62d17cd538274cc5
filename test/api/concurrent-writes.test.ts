// Concurrent duplicate writes answer exactly as sequential duplicates do, on every driver (drizzle wraps each
// driver's unique violation), and no log line carries turn content, not even for an unexpected database error.
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startNeonGateway } from '../../infra/neon-http-gateway.js';
import { inProcessQueue } from '../../src/adapters/queue/in-process.js';
import { openNeon } from '../../src/adapters/store/neon.js';
import type { Store } from '../../src/db/store.js';
import { createLogger } from '../../src/logger.js';
import { backends, harness, tenant, type Client, type Harness } from '../helpers.js';

// Neon's HTTP driver too, through the local stand-in of its SQL endpoint.
const neon = {
  name: 'neon',
  open: async (): Promise<Store> => {
    const gateway = await startNeonGateway({ databaseUrl: inject('postgresUrl') });
    const store = openNeon('postgres://u:p@db.example.neon.tech/test', { fetchEndpoint: gateway.fetchEndpoint });
    return {
      ...store,
      close: async () => {
        await store.close();
        await gateway.close();
      },
    };
  },
};

const secret = () => `secret-${crypto.randomUUID()}`;

describe.each([...backends, neon])('concurrent duplicate writes on $name', ({ open }) => {
  let h: Harness;
  const lines: string[] = [];
  /** While set, the statement that inserts turns fails inside drizzle, as a real query error does. */
  let failTurnInserts = false;
  const dialect = new PgDialect();

  beforeAll(async () => {
    const logger = createLogger('debug', {}, (line) => lines.push(line));
    h = await harness(
      async () => {
        const store = await open();
        return {
          ...store,
          async query<T>(statement: SQL): Promise<T[]> {
            const { sql: text, params } = dialect.sqlToQuery(statement);
            // A real failing query through drizzle: a DrizzleQueryError whose message holds every parameter (the
            // turn text among them) around the driver's own error.
            if (failTurnInserts && text.includes('INSERT INTO turns'))
              await store.db.execute(sql`SELECT ${JSON.stringify(params)}::text FROM no_such_table`);
            return store.query<T>(statement);
          },
        };
      },
      {},
      { logger },
    );
  });
  afterAll(async () => h.close());

  const write = (c: Client, session: string, body: unknown, key?: string) =>
    c.call('POST', `/v1/sessions/${session}/turns`, body, key ? { 'idempotency-key': key } : {});
  const stored = async (c: Client, session: string) =>
    (await c.call('GET', `/v1/sessions/${session}/turns?limit=100`)).json.turns as { content: string }[];
  const noLineHolds = (from: number, text: string) => {
    expect(lines.length).toBeGreaterThan(from);
    expect(lines.slice(from).filter((l) => l.includes(text))).toEqual([]);
  };

  it('8 concurrent writes with one Idempotency-Key store once and all answer like a replay', async () => {
    const c = await tenant(h);
    const from = lines.length;
    const text = secret();
    for (let round = 0; round < 5; round++) {
      const turns = [
        { role: 'user', content: `${text} round ${round}` },
        { role: 'assistant', content: 'Noted.' },
      ];
      const body = { turns };
      const answers = await Promise.all(Array.from({ length: 8 }, () => write(c, `r${round}`, body, `key-${round}`)));
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(201));
      expect(answers.filter((a) => a.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
      const replay = await write(c, `r${round}`, body, `key-${round}`);
      for (const a of answers) expect(a.json).toEqual(replay.json);
      expect((await stored(c, `r${round}`)).map((t) => t.content)).toEqual([`${text} round ${round}`, 'Noted.']);
    }
    noLineHolds(from, text);
  });

  it('one Idempotency-Key with different bodies at once: the stored one is 201, every other one 409', async () => {
    const c = await tenant(h);
    const text = secret();
    const bodies = Array.from({ length: 8 }, (_, i) => ({ turns: [{ role: 'user', content: `${text} #${i}` }] }));
    const answers = await Promise.all(bodies.map((body) => write(c, 'k', body, 'same-key')));
    const won = answers.filter((a) => a.status === 201);
    expect(won).toHaveLength(1);
    const lost = answers.filter((a) => a.status !== 201);
    expect(lost.map((a) => [a.status, a.json.error.code, a.json.error.message])).toEqual(
      Array(7).fill([409, 'CONFLICT', 'Idempotency-Key was already used with a different request']),
    );
    const turns = await stored(c, 'k');
    expect(turns).toHaveLength(1);
    expect(won[0]!.json.turns[0].id).toBe((await c.call('GET', '/v1/sessions/k/turns')).json.turns[0].id);
  });

  it('20 concurrent writes of one external_id store it once; the others answer as a sequential duplicate', async () => {
    const c = await tenant(h);
    const text = secret();
    const body = { turns: [{ role: 'user', content: text, external_id: 'msg-1' }] };
    const answers = await Promise.all(Array.from({ length: 20 }, () => write(c, 'x', body)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(201));
    const duplicate = (a: (typeof answers)[number]) => Number(a.json.turns[0].duplicate);
    const [first, ...dups] = [...answers].sort((a, b) => duplicate(a) - duplicate(b));
    expect(first!.json.turns[0].duplicate).toBe(false);
    expect(await stored(c, 'x')).toHaveLength(1);
    const sequential = await write(c, 'x', body);
    expect(sequential.json.turns[0]).toMatchObject({ id: first!.json.turns[0].id, duplicate: true });
    for (const d of dups) expect(d.json).toEqual(sequential.json);
  });

  it('an unexpected query error answers 500 and is logged without parameters, over HTTP and MCP', async () => {
    const c = await tenant(h);
    const text = secret();
    const from = lines.length;
    failTurnInserts = true;
    try {
      const r = await write(c, 'boom', { turns: [{ role: 'user', content: text }] });
      expect(r.status).toBe(500);
      expect(r.json.error.code).toBe('INTERNAL');
      expect(JSON.stringify(r.json)).not.toContain(text);

      const mcp = await h.app.request('/mcp', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${c.key}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'write_turns', arguments: { session_id: 'boom', turns: [{ role: 'user', content: text }] } },
        }),
      });
      const result = ((await mcp.json()) as any).result;
      expect(result.isError).toBe(true);
      expect(result.content[0].text).toMatch(/^INTERNAL: /);
      expect(JSON.stringify(result)).not.toContain(text);
    } finally {
      failTurnInserts = false;
    }
    const errors = lines
      .slice(from)
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'unhandled error');
    expect(errors).toHaveLength(2);
    // The summary names the error: the driver's SQLSTATE, and its message with the quoted name elided.
    for (const e of errors) {
      expect(e.error).toMatchObject({
        class: 'DrizzleQueryError',
        code: '42P01',
        message: 'relation "…" does not exist',
      });
      expect(e.stack).toMatch(/^\s+at /);
    }
    noLineHolds(from, text);
  });

  it('a query error logged as its message or stack string loses its parameters too', async () => {
    const text = secret();
    const err = (await h.deps.store.db.execute(sql`SELECT ${text}::text FROM no_such_table`).catch((e) => e)) as Error;
    expect(err.message).toContain(text);
    const from = lines.length;
    h.deps.logger.warn('cache read failed', { error: err.message, stack: err.stack });
    noLineHolds(from, text);
  });

  it('a failing queue job keeps and logs only the summary of a query error', async () => {
    const text = secret();
    const from = lines.length;
    const q = inProcessQueue(h.deps.logger, { maxAttempts: 2, baseDelayMs: 1 });
    q.consume(async () => {
      await h.deps.store.db.execute(sql`SELECT ${text}::text FROM no_such_table`);
    });
    await q.send({ kind: 'embed', tenant_id: 't', session_id: 's', job_id: 'j' });
    await q.drain();
    q.stop();
    expect(q.deadLetters).toEqual([expect.objectContaining({ attempts: 2, error: 'relation "…" does not exist' })]);
    expect(lines.slice(from).map((l) => JSON.parse(l).msg)).toEqual(['job failed, retrying', 'job dead-lettered']);
    noLineHolds(from, text);
  });
});
