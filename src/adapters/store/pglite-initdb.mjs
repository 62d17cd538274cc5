// Creates a new embedded database directory: `node pglite-initdb.mjs <dir>`. Run in a process of its own because
// PGlite's initdb holds two PostgreSQL instances and a tarball of the new cluster in memory at once (≈ 0.9 GB
// resident at its peak); the server then only opens the finished directory (openPglite in pglite.ts).
import { PGlite } from '@electric-sql/pglite';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node pglite-initdb.mjs <data dir>');
  process.exit(2);
}
const db = new PGlite(dir);
await db.waitReady;
await db.close();
