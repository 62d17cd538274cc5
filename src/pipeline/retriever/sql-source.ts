// The database turn source: every read of a session's turns bounded by an index, per-term matches and candidate rows
// remembered in this process (term-matches.ts, candidate-rows.ts); also the plain full-text search of turns.
import { sql, type SQL } from 'drizzle-orm';
import { defaults } from '../../config/tuning.js';
import { pgTextArray, readRows, type Store } from '../../db/store.js';
import { parseTsvector } from './lexemes.js';
import { lookupRows, rememberRows } from './candidate-rows.js';
import { lookupTerm, rememberTerm, type TermSession } from './term-matches.js';
import {
  extendStructural,
  lookupNearCalls,
  lookupStructural,
  rememberNearCalls,
  rememberStructural,
} from './structural-rows.js';
import {
  memoIdOf,
  positionOf,
  type CandidateRow,
  type HistorySource,
  type QueryLexeme,
  type StructuralCandidates,
  type TimeRange,
  type TurnRow,
  type TurnScope,
  type TurnSource,
} from './types.js';

const turnColumnNames = [
  'id',
  'sequence',
  'role',
  'name',
  'content',
  'token_count',
  'external_id',
  'tool_call_id',
  'tool_calls',
  'created_at',
];
export const turnColumns = sql.raw(turnColumnNames.join(', '));

const rangeFilter = (range: TimeRange | undefined): SQL => {
  const parts: SQL[] = [];
  if (range?.from) parts.push(sql`AND created_at >= ${range.from}::timestamptz`);
  if (range?.to) parts.push(sql`AND created_at <= ${range.to}::timestamptz`);
  return sql.join(parts, sql` `);
};

/** A turn row with driver-specific types made uniform; only the turn's own columns are kept. */
export function normalizeTurn(r: TurnRow): TurnRow {
  return {
    id: r.id,
    sequence: Number(r.sequence),
    role: r.role,
    name: r.name,
    content: r.content,
    token_count: Number(r.token_count),
    external_id: r.external_id,
    tool_call_id: r.tool_call_id,
    tool_calls: typeof r.tool_calls === 'string' ? JSON.parse(r.tool_calls) : r.tool_calls,
    created_at: new Date(r.created_at).toISOString(),
    score: Number(r.score ?? 0),
    ...(r.history_sequence === undefined || r.history_sequence === null
      ? {}
      : { session_id: r.session_id, history_sequence: Number(r.history_sequence) }),
  };
}

/** System turns read as constraints, oldest first. */
export const SYSTEM_TURNS = 20;
/** Call turns read just before each tool result. */
export const NEAR_CALLS = 3;
/** Call turns looked up by id across the session. */
export const FAR_CALLS = 100;

/** Speakers' names as lexemes by database (its text search configuration): a session's turns have few speakers. */
let speakerMemo = new WeakMap<Store['db'], Map<string, string[]>>();
const SPEAKER_MEMO_MAX = 10_000;

/** Forgets every remembered name (a session was deleted: names read from its turns must not outlive it here). */
export function forgetSpeakers(): void {
  speakerMemo = new WeakMap();
}

/**
 * Each name's lexemes (the `english` configuration, as in the turn's vector), asked of the database once per name in
 * one statement for those not yet known, instead of once per row read; a turn without a name has none.
 */
export async function speakerLexemesOf(
  store: Store,
  names: Iterable<string | null>,
): Promise<(name: string | null) => string[]> {
  const known = new Map<string, string[] | undefined>();
  for (const name of names) if (name) known.set(name, undefined);
  if (known.size === 0) return () => [];
  let memo = speakerMemo.get(store.db);
  if (!memo) speakerMemo.set(store.db, (memo = new Map()));
  for (const name of known.keys()) known.set(name, memo.get(name));
  const unknown = [...known].flatMap(([name, lexemes]) => (lexemes ? [] : [name]));
  if (unknown.length > 0) {
    const rows = await readRows<{ name: string; lexemes: string }>(
      store,
      sql`SELECT n AS name, array_to_string(tsvector_to_array(to_tsvector('english', n)), ' ') AS lexemes
        FROM unnest(${pgTextArray(unknown)}::text[]) AS n`,
    );
    for (const r of rows) {
      const lexemes = r.lexemes ? r.lexemes.split(' ') : [];
      known.set(r.name, lexemes);
      if (memo.size >= SPEAKER_MEMO_MAX) memo.delete(memo.keys().next().value!);
      memo.set(r.name, lexemes);
    }
  }
  return (name) => (name ? (known.get(name) ?? []) : []);
}

/** Newer turns read once for the remembered terms (see `matches`), at most this many; more are searched per term. */
const TERM_CATCH_UP = 256;

/** The query's tsquery text for one lexeme (backslashes never occur: such lexemes are not searched). */
const tsQueryOf = (l: QueryLexeme) => `'${l.lexeme.replace(/'/g, "''")}'${l.prefix ? ':*' : ''}`;
const termOf = (l: QueryLexeme) => (l.prefix ? `${l.lexeme}:*` : l.lexeme);

/** How a scope's turns are selected and ordered, and what its rows carry besides the turn's own columns. */
interface ScopeSql {
  where: SQL;
  /** The position column: `sequence` in a session, `history_sequence` in a user's history. */
  pos: SQL;
  columns: SQL;
}

export function scopeSql(tenantId: string, scope: TurnScope): ScopeSql {
  return scope.kind === 'session'
    ? {
        where: sql`tenant_id = ${tenantId} AND session_id = ${scope.id}`,
        pos: sql.raw('sequence'),
        columns: turnColumns,
      }
    : {
        where: sql`tenant_id = ${tenantId} AND history_id = ${scope.id}::uuid`,
        pos: sql.raw('history_sequence'),
        columns: sql`${turnColumns}, session_id, history_sequence`,
      };
}

/**
 * Reads straight from the database, each read bounded by an index. Given the request's session row, per-term matches
 * are bounded by its last sequence and remembered in this process (term-matches.ts), so a term asked again reads only
 * its newer matches.
 */
export function sqlTurnSource(
  store: Store,
  tenantId: string,
  sessionId: string,
  remember?: { created_at: string; last_sequence: number },
): TurnSource {
  return sqlSource(store, tenantId, { kind: 'session', id: sessionId }, remember);
}

/** A user's history read from the database as one session is (`remember`: the history as its memos key it). */
export function sqlHistorySource(
  store: Store,
  tenantId: string,
  historyId: string,
  remember: { created_at: string; last_sequence: number },
): HistorySource {
  return sqlSource(store, tenantId, { kind: 'history', id: historyId }, remember);
}

function sqlSource(
  store: Store,
  tenantId: string,
  scope: TurnScope,
  remember?: { created_at: string; last_sequence: number },
): TurnSource & HistorySource {
  const { where: session, pos, columns } = scopeSql(tenantId, scope);
  const memo: TermSession | undefined = remember && { tenantId, id: memoIdOf(scope), ...remember };
  const upTo = memo ? sql`AND ${pos} <= ${memo.last_sequence}` : sql``;
  /** The structural candidates as one statement reads them (up to the remembered session row's last turn). */
  const readStructural = async (recentLimit: number, range: TimeRange | undefined, toolLimit: number) => {
    const where = sql`${session} ${rangeFilter(range)} ${upTo}`;
    const rows = await readRows<TurnRow & { bucket: string }>(
      store,
      sql`
      (SELECT 'recent' AS bucket, ${columns}, 0 AS score FROM turns
        WHERE ${where} AND role IN ('user', 'assistant') ORDER BY ${pos} DESC LIMIT ${recentLimit})
      UNION ALL
      (SELECT 'system', ${columns}, 0 FROM turns WHERE ${where} AND role = 'system'
        ORDER BY ${pos} LIMIT ${SYSTEM_TURNS})
      UNION ALL
      (SELECT 'tool', ${columns}, 0 FROM turns WHERE ${where} AND role = 'tool'
        ORDER BY ${pos} DESC LIMIT ${toolLimit})
      UNION ALL
      (SELECT 'calls', ${columns}, 0 FROM turns WHERE ${where} AND role = 'assistant' AND tool_calls IS NOT NULL
        ORDER BY ${pos} DESC LIMIT ${toolLimit})
      UNION ALL
      (SELECT 'first', ${columns}, 0 FROM turns WHERE ${where} AND role = 'user' ORDER BY ${pos} LIMIT 1)`,
    );
    const out: StructuralCandidates = { recent: [], system: [], tool: [], calls: [], first: undefined };
    for (const row of rows) {
      const t = normalizeTurn(row);
      if (row.bucket === 'recent') out.recent.push(t);
      else if (row.bucket === 'system') out.system.push(t);
      else if (row.bucket === 'tool') out.tool.push(t);
      else if (row.bucket === 'calls') out.calls.push(t);
      else out.first = t;
    }
    return out;
  };

  return {
    async structural(recentLimit, range, toolLimit = defaults.toolFindings.results) {
      // Without a time range, what is remembered answers, or needs only the turns written since.
      const limits = { recentLimit, toolLimit, systemLimit: SYSTEM_TURNS };
      const known = memo && !range ? lookupStructural(memo, limits) : undefined;
      if (known && 'value' in known) return known.value;
      if (known) {
        const newer = await readRows<TurnRow>(
          store,
          sql`
          SELECT ${columns}, 0 AS score FROM turns WHERE ${session} AND ${pos} > ${known.after} ${upTo} ORDER BY ${pos}`,
        );
        return extendStructural(memo!, limits, newer.map(normalizeTurn));
      }
      const out = await readStructural(recentLimit, range, toolLimit);
      if (memo && !range) rememberStructural(memo, limits, out);
      return out;
    },

    // One branch per term with its tsquery as a constant: each branch is planned with the term's frequency from the
    // column statistics, so a rare term reads its few matches through the GIN index and a common one walks the
    // session's newest turns backwards until it has `perTerm` matches, instead of visiting every match of the term.
    // One row per term, its matches as one comma-separated string: far fewer fields for the driver to decode.
    async matches(lexemes, perTerm, range) {
      if (lexemes.length === 0) return [];
      // Time ranges are rare and read as before; otherwise what is remembered narrows or removes the read.
      const known = memo && !range ? lexemes.map((l) => lookupTerm(memo, termOf(l), perTerm)) : undefined;
      const out: number[][] = lexemes.map((_, i) => (known?.[i]?.kind === 'known' ? known[i].sequences : []));
      // Several remembered terms with newer turns to look at: those few turns are read once, with their lexemes, and
      // each term's newer matches found among them here (as `tsv @@` finds them), instead of a statement branch each.
      const since = (known ?? []).flatMap((k) => (k.kind === 'after' ? [k.after] : []));
      const from = Math.min(...since);
      const newer =
        since.length >= 2 && memo!.last_sequence - from <= TERM_CATCH_UP
          ? readRows<{ p: number; v: string }>(
              store,
              sql`SELECT ${pos} AS p, tsv::text AS v FROM turns WHERE ${session} AND ${pos} > ${from} ${upTo}
              ORDER BY ${pos} DESC`,
            )
          : undefined;
      const read = lexemes.flatMap((l, i) => {
        const k = known?.[i];
        if (k?.kind === 'known' || (k?.kind === 'after' && newer)) return [];
        const after = k?.kind === 'after' ? sql`AND ${pos} > ${k.after}` : sql``;
        return [
          sql`(SELECT ${i}::int AS ord, string_agg(p::text, ',') AS sequences FROM (
          SELECT ${pos} AS p FROM turns
          WHERE ${session} AND tsv @@ ${tsQueryOf(l)}::tsquery ${rangeFilter(range)} ${after} ${upTo}
          ORDER BY ${pos} DESC LIMIT ${perTerm}) m)`,
        ];
      });
      const [rows, newerRows] = await Promise.all([
        read.length > 0
          ? readRows<{ ord: number; sequences: string | null }>(store, sql.join(read, sql` UNION ALL `))
          : [],
        newer,
      ]);
      for (const r of rows) if (r.sequences) out[Number(r.ord)] = r.sequences.split(',').map(Number);
      if (newerRows) {
        const turns = newerRows.map((r) => ({ p: Number(r.p), tf: parseTsvector(r.v).tf }));
        lexemes.forEach((l, i) => {
          const k = known![i]!;
          if (k.kind !== 'after') return;
          const holds = ({ tf }: (typeof turns)[number]) =>
            l.prefix ? [...tf.keys()].some((x) => x.startsWith(l.lexeme)) : tf.has(l.lexeme);
          out[i] = turns
            .filter((t) => t.p > k.after && holds(t))
            .map((t) => t.p)
            .slice(0, perTerm);
        });
      }
      if (known) {
        lexemes.forEach((l, i) => {
          const k = known[i]!;
          if (k.kind === 'known') return;
          if (k.kind === 'after') out[i] = [...out[i]!, ...k.sequences].slice(0, perTerm);
          rememberTerm(memo!, termOf(l), perTerm, [...out[i]!]);
        });
      }
      return out;
    },

    async rows(sequences, range) {
      if (sequences.length === 0) return [];
      const read = async (wanted: readonly number[]) => {
        if (wanted.length === 0) return [];
        const rows = await readRows<TurnRow & { lexemes: string }>(
          store,
          sql`
          SELECT ${columns}, 0 AS score, tsv::text AS lexemes
          FROM turns
          WHERE ${session} AND ${pos} = ANY(${`{${wanted.join(',')}}`}::int[]) ${rangeFilter(range)}
          ORDER BY ${pos}`,
        );
        const speakers = await speakerLexemesOf(
          store,
          rows.map((r) => r.name),
        );
        return rows.map((r) => candidateRow(r, speakers));
      };
      // Time ranges are rare and read as before; otherwise only rows not yet remembered are read.
      if (!memo || range) return read(sequences);
      const { known, missing } = lookupRows(memo, sequences);
      const fresh = rememberRows(memo, await read(missing));
      return [...known, ...fresh].sort((a, b) => positionOf(a.turn) - positionOf(b.turn));
    },

    async callTurns(results) {
      if (results.length === 0) return [];
      const where = sql`${session} AND role = 'assistant' AND tool_calls IS NOT NULL`;
      const sequences = [...new Set(results.map((r) => r.sequence))];
      // The calls just before a result never change: remembered per result, read only for results not seen before.
      const { known, missing } = memo ? lookupNearCalls(memo, sequences) : { known: [], missing: sequences };
      const read = missing.length
        ? (
            await readRows<TurnRow & { result: number }>(
              store,
              sql`
          SELECT r.sequence AS result, c.* FROM unnest(${`{${missing.join(',')}}`}::int[]) AS r(sequence)
          CROSS JOIN LATERAL (
            SELECT ${turnColumns}, 0 AS score FROM turns WHERE ${where} AND sequence < r.sequence ORDER BY sequence DESC LIMIT ${NEAR_CALLS}
          ) c`,
            )
          ).map((row) => ({ result: Number(row.result), turn: normalizeTurn(row) }))
        : [];
      if (memo)
        for (const r of missing)
          rememberNearCalls(
            memo,
            r,
            read.filter((x) => x.result === r).map((x) => x.turn),
          );
      // Each call turn once, newest first.
      const bySequence = new Map<number, TurnRow>();
      for (const t of [...known.flat(), ...read.map((x) => x.turn)])
        if (!bySequence.has(t.sequence)) bySequence.set(t.sequence, t);
      const near = [...bySequence.values()].sort((a, b) => b.sequence - a.sequence);
      const found = new Set(near.flatMap((t) => (t.tool_calls ?? []).map((c) => c.id)));
      const ids = [...new Set(results.map((r) => r.tool_call_id).filter((id): id is string => !!id && !found.has(id)))];
      if (ids.length === 0) return near;
      const far = await readRows<TurnRow>(
        store,
        sql`
        SELECT ${turnColumns}, 0 AS score FROM turns
        WHERE ${where} AND EXISTS (SELECT 1 FROM jsonb_array_elements(tool_calls) c WHERE c->>'id' = ANY(${pgTextArray(ids)}::text[]))
        ORDER BY sequence DESC LIMIT ${FAR_CALLS}`,
      );
      const seen = new Set(near.map((t) => t.id));
      return [...near, ...far.map(normalizeTurn).filter((t) => !seen.has(t.id))];
    },

    async conversation(after) {
      const rows = await readRows<{ sequence: number; name: string | null; content: string }>(
        store,
        sql`
        SELECT ${pos} AS sequence, name, content FROM turns
        WHERE ${session} AND ${pos} > ${after} AND role IN ('user', 'assistant')
        ORDER BY ${pos}`,
      );
      return rows.map((r) => ({ sequence: Number(r.sequence), name: r.name, content: r.content }));
    },

    async constraints(sessionId, limit) {
      const rows = await readRows<TurnRow>(
        store,
        sql`
        SELECT ${columns}, 0 AS score FROM turns
        WHERE ${session} AND role = 'system' AND session_id <> ${sessionId} ${upTo}
        ORDER BY ${pos} DESC LIMIT ${limit}`,
      );
      return rows.map(normalizeTurn);
    },
  };
}

/** A row read with its lexemes (`tsv::text`), its speaker's lexemes from `speakers` (see speakerLexemesOf). */
export function candidateRow(
  r: TurnRow & { lexemes: string },
  speakers: (name: string | null) => string[],
): CandidateRow {
  return {
    turn: normalizeTurn(r),
    lexemes: parseTsvector(r.lexemes),
    speakerLexemes: speakers(r.name),
  };
}

/** The session's turns matching a tsquery, best ranked first (ts_rank_cd): the plain turn search. */
export async function lexicalTurns(
  store: Store,
  tenantId: string,
  sessionId: string,
  tsQuery: string,
  opts: { limit?: number; range?: TimeRange | undefined; offset?: number } = {},
): Promise<TurnRow[]> {
  const rows = await readRows<TurnRow>(
    store,
    sql`
    SELECT ${turnColumns}, ts_rank_cd(tsv, q) AS score
    FROM turns, to_tsquery('english', ${tsQuery}) AS q
    WHERE tenant_id = ${tenantId} AND session_id = ${sessionId} AND tsv @@ q ${rangeFilter(opts.range)}
    ORDER BY score DESC, sequence DESC
    LIMIT ${opts.limit ?? defaults.lexicalCandidates} OFFSET ${opts.offset ?? 0}`,
  );
  return rows.map(normalizeTurn);
}
