// Databases for the tests, load and bench commands: created on first use, by name, on the same server.
import pg from 'pg';

export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = target.pathname.slice(1);
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected database name "${name}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount)
      await client.query(`CREATE DATABASE ${name}`).catch((e: { code?: string }) => {
        // Created meanwhile by a concurrent run: 42P04, or 23505 when both inserts race on the catalog index.
        if (e.code !== '42P04' && e.code !== '23505') throw e;
      });
  } finally {
    await client.end();
  }
}
