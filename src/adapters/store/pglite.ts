// Embedded default: PostgreSQL compiled to WASM, persisted in a local directory. No server, no set-up.
import { mkdirSync } from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import * as schema from '../../db/schema.js';
import { storeOf, type Db, type Store } from '../../db/store.js';
import { migrationsFolder } from './migrations.js';

/** `dataDir` undefined keeps everything in memory (tests); otherwise the directory is created if missing. */
export async function openPglite(dataDir?: string): Promise<Store> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // Dates and intervals stay text, as drizzle reads them. Set once here: passed with every query instead, PGlite
  // merges them into its whole parser table on each call.
  const keep = (value: string) => value;
  const client = new PGlite(dataDir, { parsers: { [types.TIMESTAMP]: keep, [types.TIMESTAMPTZ]: keep, [types.INTERVAL]: keep, [types.DATE]: keep } });
  const db = drizzle({ client, schema });
  await migrate(db, { migrationsFolder });
  const store = storeOf(db as unknown as Db, 'pglite', () => client.close());
  const dialect = new PgDialect();
  return {
    ...store,
    // Raw statements straight to the client: the same SQL and parameters drizzle would send, without its per-query
    // parser table.
    async query<T>(statement: SQL) {
      const { sql: text, params } = dialect.sqlToQuery(statement);
      return (await client.query<T>(text, params)).rows;
    },
  };
}
