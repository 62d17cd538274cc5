// The Store port: drizzle over PGlite, node-postgres or Neon HTTP. Multi-row writes are single SQL statements
// (data-modifying CTEs), so they are all-or-nothing on every driver (ADR 0001).
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Store {
  readonly db: Db;
  readonly dialect: 'pglite' | 'postgres' | 'neon';
  /** Runs raw SQL and returns its rows as objects keyed by column name. */
  query<T>(statement: SQL): Promise<T[]>;
  /**
   * Where this process is the database's only client (the embedded one): how many statements it has started and
   * finished so far, each counted once at its start and once at its end. A row read while the count moved by only
   * that read's own two is what the database still holds until the count moves again.
   */
  statementCount?: () => number;
  /**
   * Runs a statement that writes nothing (a read, or a function of its parameters such as `to_tsvector` of a text)
   * without moving `statementCount`: reads leave what the database holds, and so the rows remembered by it, as they
   * were. Where absent, `query` runs it (see `readRows`).
   */
  read?<T>(statement: SQL): Promise<T[]>;
  close(): Promise<void>;
}

/** Runs a statement that writes nothing: through `store.read` where there is one (see Store.read), else `query`. */
export const readRows = <T>(store: Store, statement: SQL): Promise<T[]> =>
  store.read ? store.read<T>(statement) : store.query<T>(statement);

export function storeOf(db: Db, dialect: Store['dialect'], close: () => Promise<void>): Store {
  return {
    db,
    dialect,
    async query<T>(statement: SQL) {
      const result = (await db.execute(statement)) as unknown as { rows: T[] };
      return result.rows;
    },
    close,
  };
}

/** A Postgres text[] literal, passed as one string parameter (Neon's HTTP driver sends every parameter as text). */
export function pgTextArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
}
