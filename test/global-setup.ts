// Creates and migrates the PostgreSQL test database once per run; tests isolate themselves by tenant.
// TEST_DATABASE names another database, so that two checkouts can run their suites side by side.
import type { TestProject } from 'vitest/node';
import { ensureDatabase } from '../scripts/postgres.js';
import { openPostgres } from '../src/adapters/store/postgres.js';

export const TEST_DATABASE = process.env.TEST_DATABASE ?? 'context_engine_test';
const admin = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export default async function setup(project: TestProject) {
  const url = new URL(admin);
  url.pathname = `/${TEST_DATABASE}`;
  await ensureDatabase(url.toString());
  const store = await openPostgres(url.toString(), { max: 1 });
  await store.close();
  project.provide('postgresUrl', url.toString());
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}
