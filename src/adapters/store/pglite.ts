// Embedded default: PostgreSQL compiled to WASM, persisted in a local directory. No server, no set-up.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  rmdirSync,
} from 'node:fs';
import { createRequire } from 'node:module';
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
   * PostgreSQL's shared buffer pool, in MB (32 unless set; PGlite's own default is 128). The pool is part of the WASM
   * memory and is touched at start-up, so it is resident from the first request: 32 MB instead of 128 saves about
   * 100 MB of resident memory, and costs up to about 10 % on queries over a 100k-turn session, whose pages are then
   * read again through the operating system's page cache.
   */
  sharedBuffersMb?: number;
  /**
   * Where the first new directory's cluster (initdb and the migrations) is kept, and copied from for the next new one
   * (ADR 0022). Default: `node_modules/.cache/context-engine/pglite-<version>-<migrations hash>` beside PGlite.
   */
  templateDir?: string;
}

const DEFAULT_SHARED_BUFFERS_MB = 32;

/**
 * `dataDir` undefined keeps everything in memory (tests); otherwise the directory is created if missing, by a
 * separate short-lived process (see pglite-initdb.mjs), so this process never holds initdb's peak.
 */
export async function openPglite(dataDir?: string, opts: PgliteOptions = {}): Promise<Store> {
  if (dataDir) createDataDir(dataDir, () => opts.templateDir ?? defaultTemplate());
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
    async read<T>(statement: SQL) {
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
 * A new cluster is built in a sibling directory and renamed into place when complete, so an interrupted start never
 * leaves a half-written directory that would later be taken for a database. It is a copy of the template (where `template()` says: the
 * cluster initdb and these migrations made for an earlier new directory) or, the first time, built by a child process
 * and then kept as the template.
 */
function createDataDir(dataDir: string, template: () => string | undefined): void {
  if (existsSync(path.join(dataDir, 'PG_VERSION'))) return;
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new Error(
      `${dataDir} exists and is not an embedded database (no PG_VERSION); move it away or set DATA_DIR elsewhere`,
    );
  }
  mkdirSync(path.dirname(dataDir), { recursive: true });
  const building = `${dataDir}.initdb-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  const kept = template();
  if (kept && existsSync(path.join(kept, 'PG_VERSION'))) copyCluster(kept, building);
  else {
    initdb(building, dataDir);
    if (kept) keepTemplate(building, kept);
  }
  if (existsSync(dataDir)) rmdirSync(dataDir);
  renameSync(building, dataDir);
}

/** `name` is the directory the cluster is for, as the error names it. */
function initdb(dir: string, name: string): void {
  try {
    execFileSync(process.execPath, [initScript, dir, migrationsFolder], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`could not create the embedded database in ${name}${stderr ? `: ${stderr}` : ''}`);
  }
}

/** Copy-on-write where the file system can (btrfs, XFS), a plain copy elsewhere. */
function copyCluster(from: string, to: string): void {
  try {
    cpSync(from, to, { recursive: true, mode: constants.COPYFILE_FICLONE });
  } catch (err) {
    rmSync(to, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Where the template is kept: `node_modules/.cache/context-engine/` beside the PGlite package (the usual place for a
 * package's cache), named by PGlite's version and a hash of the migrations, so a new version or migration makes a new
 * template. Undefined when PGlite's package cannot be located.
 */
function defaultTemplate(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
    const pkgDir = path.resolve(path.dirname(entry), '..');
    const { version } = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string };
    const hash = createHash('sha256');
    for (const file of readdirSync(migrationsFolder)
      .filter((f) => f.endsWith('.sql'))
      .sort())
      hash.update(file).update(readFileSync(path.join(migrationsFolder, file)));
    const nodeModules = path.resolve(pkgDir, '../..');
    return path.join(nodeModules, '.cache', 'context-engine', `pglite-${version}-${hash.digest('hex').slice(0, 12)}`);
  } catch {
    return undefined;
  }
}

/**
 * Best effort: a read-only install, or another process keeping its copy first, leaves things as they are. Templates
 * of other versions or migrations in the same folder are removed.
 */
function keepTemplate(cluster: string, kept: string): void {
  const copying = `${kept}.copy-${process.pid}`;
  try {
    mkdirSync(path.dirname(kept), { recursive: true });
    copyCluster(cluster, copying);
    renameSync(copying, kept);
    for (const other of readdirSync(path.dirname(kept)))
      if (other.startsWith('pglite-') && !other.includes('.copy-') && path.join(path.dirname(kept), other) !== kept)
        rmSync(path.join(path.dirname(kept), other), { recursive: true, force: true });
  } catch {
    rmSync(copying, { recursive: true, force: true });
  }
}
