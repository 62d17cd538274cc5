// `npm run migrate`: applies the committed migrations to DATABASE_URL (or to the embedded database in DATA_DIR).
import path from 'node:path';
import { openPglite } from '../../adapters/store/pglite.js';
import { openPostgres } from '../../adapters/store/postgres.js';
import { parseEnv } from '../../config/env.js';

const env = parseEnv(process.env);
const target = env.DATABASE_URL ? 'PostgreSQL at DATABASE_URL' : `PGlite in ${path.resolve(env.DATA_DIR, 'pglite')}`;
console.log(`applying migrations to ${target}…`);
const store = env.DATABASE_URL
  ? await openPostgres(env.DATABASE_URL)
  : await openPglite(path.join(env.DATA_DIR, 'pglite'));
await store.close();
console.log('migrations are up to date');
