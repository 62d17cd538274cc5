// Self-hosted PostgreSQL over node-postgres.
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import * as schema from '../../db/schema.js';
import { storeOf, type Db, type Store } from '../../db/store.js';
import { migrationsFolder } from './migrations.js';

// Any fixed number works; it only has to be the same for every process migrating the same database.
const MIGRATION_LOCK = 7_402_311;

export async function openPostgres(
  url: string,
  opts: { migrate?: boolean; max?: number; connectTimeoutMs?: number; statementTimeoutMs?: number } = {},
): Promise<Store> {
  // Bounded waits: an unreachable database answers 503 quickly instead of holding requests open.
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 3_000,
    statement_timeout: opts.statementTimeoutMs ?? 15_000,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = drizzle({ client: pool, schema });
  if (opts.migrate ?? true) await migratePostgres(pool);
  return storeOf(db as unknown as Db, 'postgres', () => pool.end());
}

/** Applies pending migrations; an advisory lock keeps concurrent starters from racing each other. */
export async function migratePostgres(pool: pg.Pool): Promise<void> {
  const conn = await pool.connect();
  try {
    await conn.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migrate(drizzle({ client: conn }), { migrationsFolder });
  } finally {
    await conn.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    conn.release();
  }
}
