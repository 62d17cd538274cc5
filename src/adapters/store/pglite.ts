// Embedded default: PostgreSQL compiled to WASM, persisted in a local directory. No server, no set-up.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import * as schema from '../../db/schema.js';
import { storeOf, type Db, type Store } from '../../db/store.js';
import { migrationsFolder } from './migrations.js';

/** `dataDir` undefined keeps everything in memory (tests); otherwise the directory is created if missing. */
export async function openPglite(dataDir?: string): Promise<Store> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const client = new PGlite(dataDir);
  const db = drizzle({ client, schema });
  await migrate(db, { migrationsFolder });
  return storeOf(db as unknown as Db, 'pglite', () => client.close());
}
