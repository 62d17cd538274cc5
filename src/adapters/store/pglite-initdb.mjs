// Creates a new embedded database directory: `node pglite-initdb.mjs <dir>`, in a process of its own so the server
// never holds initdb's memory peak (ADR 0010); the server only opens the finished directory (openPglite in pglite.ts).
import { PGlite } from '@electric-sql/pglite';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node pglite-initdb.mjs <data dir>');
  process.exit(2);
}
const db = new PGlite(dir);
await db.waitReady;
await db.close();
