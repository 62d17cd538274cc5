import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';

// The embedded default as `npm start` opens it: a directory on disk, created by a short-lived child process.
describe('embedded database directory', () => {
  const roots: string[] = [];
  const scratch = async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'ctx-embedded-'));
    roots.push(root);
    return root;
  };
  afterAll(async () => {
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });

  it('creates a new directory, keeps what was written across a reopen, and leaves no build directory behind', async () => {
    const root = await scratch();
    const dir = path.join(root, 'data', 'pglite');
    const first = await openPglite(dir);
    await first.query(sql`CREATE TABLE kept (note text)`);
    await first.query(sql`INSERT INTO kept VALUES ('written before the restart')`);
    const [setting] = await first.query<{ shared_buffers: string }>(sql`SHOW shared_buffers`);
    expect(setting?.shared_buffers).toBe('32MB');
    await first.close();

    expect(await readdir(path.join(root, 'data'))).toEqual(['pglite']);
    const again = await openPglite(dir, { sharedBuffersMb: 16 });
    expect(await again.query<{ note: string }>(sql`SELECT note FROM kept`)).toEqual([
      { note: 'written before the restart' },
    ]);
    const [smaller] = await again.query<{ shared_buffers: string }>(sql`SHOW shared_buffers`);
    expect(smaller?.shared_buffers).toBe('16MB');
    // Migrations ran on the new directory: the product's tables are there.
    const tables = await again.query<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'turns'`,
    );
    expect(tables[0]?.n).toBe(1);
    await again.close();
  });

  it('makes later new directories as copies of the first one, each a database of its own', async () => {
    const root = await scratch();
    const templateDir = path.join(root, 'template');
    const first = await openPglite(path.join(root, 'a'), { templateDir });
    // The first new directory's cluster is kept, before anything is written to it.
    expect(existsSync(path.join(templateDir, 'PG_VERSION'))).toBe(true);
    await first.query(sql`CREATE TABLE only_in_a (note text)`);
    await first.close();

    // A file placed in the template shows that the next new directory is its copy.
    await writeFile(path.join(templateDir, 'from-template'), '');
    const dir = path.join(root, 'b');
    const second = await openPglite(dir, { templateDir });
    expect(await readdir(dir)).toContain('from-template');
    const tables = async (store: typeof second) =>
      (
        await store.query<{ name: string }>(
          sql`SELECT table_name AS name FROM information_schema.tables WHERE table_name IN ('turns', 'only_in_a')`,
        )
      ).map((t) => t.name);
    // The product's tables, and nothing written to the first directory after it was copied.
    expect(await tables(second)).toEqual(['turns']);
    await second.query(sql`CREATE TABLE kept (note text)`);
    await second.query(sql`INSERT INTO kept VALUES ('written before the restart')`);
    await second.close();

    const again = await openPglite(dir, { templateDir });
    expect(await again.query<{ note: string }>(sql`SELECT note FROM kept`)).toEqual([
      { note: 'written before the restart' },
    ]);
    await again.close();
    // Writing to a copy leaves the template as it was.
    const third = await openPglite(path.join(root, 'c'), { templateDir });
    expect(await tables(third)).toEqual(['turns']);
    await third.close();
    expect((await readdir(root)).sort()).toEqual(['a', 'b', 'c', 'template']);
  });

  it('uses an existing empty directory', async () => {
    const root = await scratch();
    const dir = path.join(root, 'empty');
    await mkdir(dir);
    const store = await openPglite(dir);
    expect(await store.query<{ one: number }>(sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
    await store.close();
    expect(await readdir(root)).toEqual(['empty']);
  });

  it('refuses a non-empty directory that is not a database, and leaves its files alone', async () => {
    const root = await scratch();
    const dir = path.join(root, 'notes');
    await mkdir(dir);
    await writeFile(path.join(dir, 'todo.txt'), 'mine');
    await expect(openPglite(dir)).rejects.toThrow(/not an embedded database/);
    expect(await readdir(dir)).toEqual(['todo.txt']);
    expect(await readdir(root)).toEqual(['notes']);
  });
});
