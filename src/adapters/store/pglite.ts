// Embedded default: PostgreSQL compiled to WASM, persisted in a local directory. No server, no set-up.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite, types } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import * as schema from '../../db/schema.js';
import { storeOf, type Db, type Store } from '../../db/store.js';
import { migrationsFolder } from './migrations.js';

export interface PgliteOptions {
  /**
   * PostgreSQL's shared buffer pool, in MB (PGlite's default, 128, unless set). The pool is part of the WASM memory
   * and is touched at start-up, so it is resident from the first request: 32 MB saves about 100 MB of resident
   * memory, and costs about 10 % on queries over a 100k-turn session, whose pages are then read again through the
   * operating system's page cache.
   */
  sharedBuffersMb?: number;
}

const DEFAULT_SHARED_BUFFERS_MB = 128;

/**
 * `dataDir` undefined keeps everything in memory (tests); otherwise the directory is created if missing, by a
 * separate short-lived process (see pglite-initdb.mjs), so this process never holds initdb's peak.
 */
export async function openPglite(dataDir?: string, opts: PgliteOptions = {}): Promise<Store> {
  if (dataDir) createDataDir(dataDir);
  const sharedBuffersMb = opts.sharedBuffersMb ?? DEFAULT_SHARED_BUFFERS_MB;
  // Dates and intervals stay text, as drizzle reads them. Set once here: passed with every query instead, PGlite
  // merges them into its whole parser table on each call.
  const keep = (value: string) => value;
  const client = new PGlite(dataDir, {
    parsers: { [types.TIMESTAMP]: keep, [types.TIMESTAMPTZ]: keep, [types.INTERVAL]: keep, [types.DATE]: keep },
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffersMb}MB`],
  });
  const uncounted = client.query.bind(client);
  const statementCount = countStatements(client);
  const db = drizzle({ client, schema });
  await migrate(db, { migrationsFolder });
  const store = storeOf(db as unknown as Db, 'pglite', () => client.close());
  const dialect = new PgDialect();
  return {
    ...store,
    statementCount,
    // Raw statements straight to the client: the same SQL and parameters drizzle would send, without its per-query
    // parser table.
    async query<T>(statement: SQL) {
      const { sql: text, params } = dialect.sqlToQuery(statement);
      return (await client.query<T>(text, params)).rows;
    },
    async evaluate<T>(statement: SQL) {
      const { sql: text, params } = dialect.sqlToQuery(statement);
      return (await uncounted<T>(text, params)).rows;
    },
  };
}

/**
 * Counts every statement sent through the client (its query, exec and transaction calls, which drizzle and the raw
 * path use), at its start and at its end: this process is the directory's only client (DATA_DIR lock).
 */
function countStatements(client: PGlite): () => number {
  let count = 0;
  const counted =
    <A extends unknown[], R>(run: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      count += 1;
      try {
        return await run(...args);
      } finally {
        count += 1;
      }
    };
  client.query = counted(client.query.bind(client)) as typeof client.query;
  client.exec = counted(client.exec.bind(client));
  client.transaction = counted(client.transaction.bind(client)) as typeof client.transaction;
  return () => count;
}

const initScript = fileURLToPath(new URL('./pglite-initdb.mjs', import.meta.url));

/**
 * A new cluster is built in a sibling directory by a child process and renamed into place when complete, so an
 * interrupted start never leaves a half-written directory that would later be taken for a database.
 */
function createDataDir(dataDir: string): void {
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) return;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new Error(
      `${dataDir} exists and is not an embedded database (no PG_VERSION); move it away or set DATA_DIR elsewhere`,
    );
  }
  mkdirSync(path.dirname(dataDir), { recursive: true });
  const building = `${dataDir}.initdb-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  try {
    execFileSync(process.execPath, [initScript, building], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    rmSync(building, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`could not create the embedded database in ${dataDir}${stderr ? `: ${stderr}` : ''}`);
  }
  if (existsSync(dataDir)) rmdirSync(dataDir);
  renameSync(building, dataDir);
}
