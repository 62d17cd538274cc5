// Creates and migrates the PostgreSQL test database once per run; tests isolate themselves by tenant.
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { openPostgres } from '../src/adapters/store/postgres.js';

export const TEST_DATABASE = 'context_engine_test';
const admin = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export default async function setup(project: TestProject) {
  const url = new URL(admin);
  url.pathname = `/${TEST_DATABASE}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEST_DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${TEST_DATABASE}`).catch((e: { code?: string }) => {
      if (e.code !== '42P04') throw e; // created concurrently by another run
    });
  } finally {
    await client.end();
  }
  const store = await openPostgres(url.toString(), { max: 1 });
  await store.close();
  project.provide('postgresUrl', url.toString());
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}
