// Creates a new embedded database directory: `node pglite-initdb.mjs <dir> [migrations folder]`, in a process of its
// own so the server never holds initdb's memory peak (ADR 0010), and applies the migrations there, so that the cluster
// is complete and closed cleanly when it is kept as the template for later new directories (ADR 0022). The server
// opens the finished directory and runs the migrations again, which finds nothing left to do (openPglite in pglite.ts).
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';

const [dir, migrationsFolder] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node pglite-initdb.mjs <data dir> [migrations folder]');
  process.exit(2);
}
const db = new PGlite(dir);
await db.waitReady;
if (migrationsFolder) await migrate(drizzle({ client: db }), { migrationsFolder });
await db.close();
