// `npm run migrate`: applies the committed migrations to DATABASE_URL (or to the embedded database in DATA_DIR).
import path from 'node:path';
import { parseEnv } from '../../config/env.js';
import { exitIfInUse } from './data-dir-lock.js';
import { openStore } from './deps.js';

const env = parseEnv(process.env);
const target = env.DATABASE_URL ? 'PostgreSQL at DATABASE_URL' : `PGlite in ${path.resolve(env.DATA_DIR, 'pglite')}`;
console.log(`applying migrations to ${target}…`);
const { store } = await openStore(env, 'npm run migrate').catch(exitIfInUse);
await store.close();
console.log('migrations are up to date');
