// Exercises the production Neon HTTP client and drizzle's neon-http driver against the local stand-in, so a
// protocol mismatch shows up here rather than in edge tests that are harder to read.
import { randomBytes } from 'node:crypto';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { neon, neonConfig, NeonDbError, type NeonQueryFunction } from '@neondatabase/serverless';
import { drizzle } from 'drizzle-orm/neon-http';
import { eq } from 'drizzle-orm';
import { integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { startNeonGateway, type NeonGateway } from '../../infra/neon-http-gateway.js';

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// Must look like a Neon URL to pass the client's validation; the stand-in never contacts this host.
const neonUrl = 'postgres://u:p@db.example.neon.tech/test';
const suffix = randomBytes(4).toString('hex');
const itemsTable = `infra_neon_items_${suffix}`;

const items = pgTable(itemsTable, {
  id: text('id').primaryKey(),
  qty: integer('qty').notNull(),
  meta: jsonb('meta').$type<Record<string, unknown>>(),
  tags: text('tags').array(),
  createdAt: timestamp('created_at', { withTimezone: true }),
});

/** Postgres SQLSTATE of an error, whether raised directly or wrapped by drizzle. */
function pgCode(err: unknown): string | undefined {
  let current: unknown = err;
  while (current instanceof Error) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the query to fail');
}

let gateway: NeonGateway;
let sql: NeonQueryFunction<false, false>;
let previousEndpoint: typeof neonConfig.fetchEndpoint;

beforeAll(async () => {
  gateway = await startNeonGateway({ databaseUrl, port: 0 });
  previousEndpoint = neonConfig.fetchEndpoint;
  // The per-call `fetchEndpoint` option is ignored by the client; only the global setting is honoured.
  neonConfig.fetchEndpoint = () => gateway.fetchEndpoint;
  sql = neon(neonUrl);
  await sql.query(
    `CREATE TABLE ${itemsTable} (
       id text PRIMARY KEY, qty integer NOT NULL, meta jsonb, tags text[], created_at timestamptz
     )`,
  );
});

afterAll(async () => {
  try {
    await sql.query(`DROP TABLE IF EXISTS ${itemsTable}`);
  } finally {
    neonConfig.fetchEndpoint = previousEndpoint;
    await gateway.close();
  }
});

describe('neon() against the stand-in', () => {
  it('round-trips parameters of common types', async () => {
    const at = new Date('2024-05-06T07:08:09.123Z');
    const rows = await sql.query(
      `SELECT $1::text AS t, $2::int AS i, $3::bigint AS big, $4::jsonb AS j, $5::text[] AS arr, $6::int[] AS ints,
              $7::text AS nothing, $8::timestamptz AS at, $9::boolean AS flag, $10::numeric AS num`,
      [
        'héllo, "world"',
        42,
        '9007199254740993',
        JSON.stringify({ a: [1, 'x'], b: null }),
        ['a', 'b c', 'd"e', null],
        [1, 2, 3],
        null,
        at,
        true,
        '1.50',
      ],
    );
    expect(rows).toEqual([
      {
        t: 'héllo, "world"',
        i: 42,
        // int8 and numeric stay strings, exactly as the client parses them from a real Neon.
        big: '9007199254740993',
        j: { a: [1, 'x'], b: null },
        arr: ['a', 'b c', 'd"e', null],
        ints: [1, 2, 3],
        nothing: null,
        at,
        flag: true,
        num: '1.50',
      },
    ]);
  });

  it('honours array mode and full results', async () => {
    const result = await sql.query('SELECT 1 AS one, $1::text AS two', ['2'], { arrayMode: true, fullResults: true });
    expect(result.rows).toEqual([[1, '2']]);
    expect(result.command).toBe('SELECT');
    expect(result.rowCount).toBe(1);
    expect(result.fields.map((f) => [f.name, f.dataTypeID])).toEqual([
      ['one', 23],
      ['two', 25],
    ]);
  });

  it('works as a tagged template', async () => {
    const value = 'tagged';
    const rows = await sql`SELECT ${value}::text AS v, ${7} + 1 AS n`;
    expect(rows).toEqual([{ v: 'tagged', n: 8 }]);
  });

  it('surfaces Postgres errors as NeonDbError with the SQLSTATE', async () => {
    const err = await failure(sql.query(`SELECT * FROM infra_missing_${suffix}`));
    expect(err).toBeInstanceOf(NeonDbError);
    expect((err as NeonDbError).code).toBe('42P01');
    expect((err as NeonDbError).message).toContain('does not exist');

    await sql.query(`INSERT INTO ${itemsTable} (id, qty) VALUES ($1, $2)`, ['dup', 1]);
    const dup = await failure(sql.query(`INSERT INTO ${itemsTable} (id, qty) VALUES ($1, $2)`, ['dup', 2]));
    expect(dup).toBeInstanceOf(NeonDbError);
    expect((dup as NeonDbError).code).toBe('23505');
    expect((dup as NeonDbError).constraint).toBe(`${itemsTable}_pkey`);
    expect((dup as NeonDbError).detail).toContain('already exists');
  });

  it('rejects several statements in one query, as Neon does', async () => {
    const err = await failure(sql.query('SELECT 1; SELECT 2'));
    expect((err as NeonDbError).code).toBe('42601');
  });

  it('runs transaction() atomically with the requested isolation and access mode', async () => {
    const [isolation, readOnly] = await sql.transaction(
      [sql`SHOW transaction_isolation`, sql`SHOW transaction_read_only`],
      { isolationLevel: 'Serializable', readOnly: true },
    );
    expect(isolation).toEqual([{ transaction_isolation: 'serializable' }]);
    expect(readOnly).toEqual([{ transaction_read_only: 'on' }]);

    const denied = await failure(
      sql.transaction([sql.query(`INSERT INTO ${itemsTable} (id, qty) VALUES ('ro', 1)`)], { readOnly: true }),
    );
    expect((denied as NeonDbError).code).toBe('25006');

    const failed = await failure(
      sql.transaction([
        sql.query(`INSERT INTO ${itemsTable} (id, qty) VALUES ('tx-1', 1)`),
        sql.query(`INSERT INTO ${itemsTable} (id, qty) VALUES ('tx-1', 2)`),
      ]),
    );
    expect((failed as NeonDbError).code).toBe('23505');
    expect(await sql.query(`SELECT id FROM ${itemsTable} WHERE id = 'tx-1'`)).toEqual([]);
  });
});

describe('drizzle neon-http against the stand-in', () => {
  it('inserts, selects and updates with typed columns', async () => {
    const db = drizzle({ client: sql });
    const createdAt = new Date('2025-01-02T03:04:05.678Z');
    const inserted = await db
      .insert(items)
      .values({ id: 'd-1', qty: 3, meta: { kind: 'widget', sizes: [1, 2] }, tags: ['x', 'y z'], createdAt })
      .returning();
    expect(inserted).toEqual([
      { id: 'd-1', qty: 3, meta: { kind: 'widget', sizes: [1, 2] }, tags: ['x', 'y z'], createdAt },
    ]);

    await db.update(items).set({ qty: 4, meta: null }).where(eq(items.id, 'd-1'));
    const [row] = await db.select().from(items).where(eq(items.id, 'd-1'));
    expect(row).toEqual({ id: 'd-1', qty: 4, meta: null, tags: ['x', 'y z'], createdAt });
  });

  it('commits a batch as a whole', async () => {
    const db = drizzle({ client: sql });
    const [first, second, count] = await db.batch([
      db.insert(items).values({ id: 'b-1', qty: 1 }).returning({ id: items.id }),
      db.insert(items).values({ id: 'b-2', qty: 2 }).returning({ id: items.id }),
      db.select({ id: items.id }).from(items).where(eq(items.id, 'b-1')),
    ]);
    expect(first).toEqual([{ id: 'b-1' }]);
    expect(second).toEqual([{ id: 'b-2' }]);
    expect(count).toEqual([{ id: 'b-1' }]);
  });

  it('rolls back the whole batch when one statement fails', async () => {
    const db = drizzle({ client: sql });
    const err = await failure(
      db.batch([
        db.insert(items).values({ id: 'r-1', qty: 1 }),
        db.update(items).set({ qty: 99 }).where(eq(items.id, 'b-1')),
        // Violates the primary key: everything above must be undone.
        db.insert(items).values({ id: 'r-1', qty: 2 }),
      ]),
    );
    expect(pgCode(err)).toBe('23505');
    expect(await db.select().from(items).where(eq(items.id, 'r-1'))).toEqual([]);
    const [kept] = await db.select({ qty: items.qty }).from(items).where(eq(items.id, 'b-1'));
    expect(kept?.qty).toBe(1);
  });

  it('wraps query errors with the SQLSTATE reachable through the cause', async () => {
    const db = drizzle({ client: sql });
    await db.insert(items).values({ id: 'w-1', qty: 1 });
    const err = await failure(db.insert(items).values({ id: 'w-1', qty: 1 }));
    expect(pgCode(err)).toBe('23505');
  });
});

describe('raw protocol', () => {
  const headers = {
    'neon-connection-string': neonUrl,
    'neon-raw-text-output': 'true',
    'neon-array-mode': 'true',
  };

  it('returns rows as raw Postgres text with field metadata', async () => {
    const res = await fetch(gateway.fetchEndpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: 'SELECT $1::int AS n, $2::jsonb AS j, NULL::text AS z', params: ['5', '{"a":1}'] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      command: 'SELECT',
      rowCount: 1,
      rows: [['5', '{"a": 1}', null]],
      rowAsArray: true,
      fields: [
        { name: 'n', dataTypeID: 23 },
        { name: 'j', dataTypeID: 3802 },
        { name: 'z', dataTypeID: 25 },
      ],
    });
  });

  it('answers 400 with the Postgres error fields', async () => {
    const res = await fetch(gateway.fetchEndpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: 'SELECT 1/0', params: [] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: '22012', message: 'division by zero', severity: 'ERROR' });
  });

  it('rejects requests without a connection string or with a bad isolation level', async () => {
    const missing = await fetch(gateway.fetchEndpoint, {
      method: 'POST',
      headers: { 'neon-raw-text-output': 'true' },
      body: JSON.stringify({ query: 'SELECT 1' }),
    });
    expect(missing.status).toBe(400);

    const badLevel = await fetch(gateway.fetchEndpoint, {
      method: 'POST',
      headers: { ...headers, 'neon-batch-isolation-level': 'Chaotic' },
      body: JSON.stringify({ queries: [{ query: 'SELECT 1', params: [] }] }),
    });
    expect(badLevel.status).toBe(400);
    expect(await badLevel.json()).toMatchObject({ message: expect.stringContaining('isolation') });
  });
});
