// A database kept by `npm run bench -- --keep-db <dir>`, reopened by the profile and EXPLAIN drivers so that a
// 100k-turn session is built once, and a store wrapper that records and times the SQL the product runs.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SQL } from 'drizzle-orm';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { openPostgres } from '../../src/adapters/store/postgres.js';
import { readRows, type Store } from '../../src/db/store.js';

export interface KeptSession {
  tenantId: string;
  key: string;
  sessionId: string;
  turns: number;
}

export interface Kept {
  database: string | null;
  sessions: KeptSession[];
}

export async function readKept(dir: string): Promise<Kept> {
  const file = path.join(dir, 'sessions.json');
  let kept: Kept;
  try {
    kept = JSON.parse(await readFile(file, 'utf8')) as Kept;
  } catch {
    throw new Error(`${file} not found: run \`npm run bench -- --keep-db ${dir}\` first`);
  }
  return kept;
}

export function sessionOf(kept: Kept, turns: number): KeptSession {
  const s = kept.sessions.find((x) => x.turns === turns);
  if (!s)
    throw new Error(`no ${turns}-turn session kept (have ${kept.sessions.map((x) => x.turns).join(', ') || 'none'})`);
  return s;
}

/** The kept database: PGlite in `<dir>/pglite` (the product's own layout under DATA_DIR), or the PostgreSQL it used. */
export async function openKeptStore(dir: string, kept: Kept): Promise<Store> {
  return kept.database ? openPostgres(kept.database) : openPglite(path.join(dir, 'pglite'));
}

export interface Recorded {
  statement: SQL;
  /** performance.now() when the statement was sent. */
  start: number;
  ms: number;
}

/**
 * Milliseconds during which at least one statement was in flight. The query path sends some statements
 * concurrently and PGlite runs one at a time, so per-statement times overlap (and include queueing).
 */
export function busyMs(recorded: readonly Recorded[]): number {
  const spans = recorded.map((r) => [r.start, r.start + r.ms] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [from, to] = [-Infinity, -Infinity];
  for (const [a, b] of spans) {
    if (a > to) {
      if (to > from) total += to - from;
      [from, to] = [a, b];
    } else if (b > to) to = b;
  }
  if (to > from) total += to - from;
  return total;
}

/** Delegates to `store`; while `recording` is on, every statement and its duration are kept in order. */
export function recordingStore(store: Store): Store & { recording: boolean; recorded: Recorded[] } {
  const wrapper = {
    db: store.db,
    dialect: store.dialect,
    recording: false,
    recorded: [] as Recorded[],
    // The statements still reach `store`, which counts them: its remembered session rows work as in production.
    ...(store.statementCount ? { statementCount: store.statementCount } : {}),
    async query<T>(statement: SQL): Promise<T[]> {
      return record(statement, () => store.query<T>(statement));
    },
    async read<T>(statement: SQL): Promise<T[]> {
      return record(statement, () => readRows<T>(store, statement));
    },
    close: () => store.close(),
  };
  async function record<T>(statement: SQL, run: () => Promise<T[]>): Promise<T[]> {
    const started = performance.now();
    try {
      return await run();
    } finally {
      if (wrapper.recording) wrapper.recorded.push({ statement, start: started, ms: performance.now() - started });
    }
  }
  return wrapper;
}

/** The SQL text of a recorded statement, whitespace collapsed (for labels and reports). */
export function sqlText(store: Store, statement: SQL): { sql: string; params: unknown[] } {
  const q = (
    store.db as unknown as { dialect: { sqlToQuery(s: SQL): { sql: string; params: unknown[] } } }
  ).dialect.sqlToQuery(statement);
  return { sql: q.sql.replace(/\s+/g, ' ').trim(), params: q.params };
}

/** A short name for a statement of the query path, from what it reads. */
export function statementLabel(text: string): string {
  if (/FROM api_keys/i.test(text)) return 'auth: API key lookup';
  if (/FROM sessions s\s+LEFT JOIN context_windows/i.test(text)) return 'session lookup (findSession)';
  if (/WITH terms AS/i.test(text)) return 'history: FTS matches per query term';
  if (/FROM unnest\(to_tsvector|^\s*SELECT to_tsvector\('english', \$1\)::text/i.test(text))
    return 'history: query lexemes';
  if (/AS ord, string_agg\(sequence/i.test(text)) return 'history: FTS matches per query term';
  if (/sequence = ANY/i.test(text)) return 'history: seeds and neighbours';
  if (/SELECT 'recent' AS bucket/i.test(text)) return 'structural candidates';
  if (/FROM memories/i.test(text)) return 'memory recall';
  return text.slice(0, 60);
}
