// Retriever (seed 000 SelectionManager / MemoryRecallManager): candidate turns and memories for one query.
// Structural candidates (recent turns, system constraints, tool results, the opening request) come in one round
// trip; relevant history comes in another: PostgreSQL full-text search bounds the candidates (per-term capped
// matches, the best by summed IDF, and their neighbours) and ./rank.ts re-ranks them in-process. Memories are
// ranked by ts_rank_cd.
import { sql, type SQL } from 'drizzle-orm';
import { defaults } from '../../config.js';
import { pgTextArray, type Store } from '../../db/store.js';
import { terms } from '../text.js';
import { parseTsvector, type Lexemes } from './lexemes.js';
import type { Candidate, QueryTerm } from './rank.js';
import { lookupRows, rememberRows } from './candidate-rows.js';
import { lookupTerm, rememberTerm, type TermSession } from './term-matches.js';

export interface TurnRow {
  id: string;
  sequence: number;
  role: 'user' | 'assistant' | 'tool' | 'system';
  name: string | null;
  content: string;
  token_count: number;
  external_id: string | null;
  tool_call_id: string | null;
  tool_calls: { id: string; name: string; arguments: string }[] | null;
  created_at: string;
  score: number;
}

export interface MemoryRow {
  id: string;
  content: string;
  scope: string;
  kind: string;
  importance: number;
  token_count: number;
  score: number;
}

export interface TimeRange {
  from?: string | undefined;
  to?: string | undefined;
}

const turnColumnNames = ['id', 'sequence', 'role', 'name', 'content', 'token_count', 'external_id', 'tool_call_id', 'tool_calls', 'created_at'];
export const turnColumns = sql.raw(turnColumnNames.join(', '));

/** An OR of the query's content words as a tsquery string, or undefined when nothing searchable remains. */
export function toTsQuery(query: string | undefined): string | undefined {
  if (!query) return undefined;
  const unique = [...new Set(terms(query))].slice(0, 32);
  return unique.length > 0 ? unique.join(' | ') : undefined;
}

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
  };
}

export interface StructuralCandidates {
  recent: TurnRow[];
  system: TurnRow[];
  /** The newest tool results, newest first. */
  tool: TurnRow[];
  /** The newest assistant turns that made tool calls, newest first: the calls behind the tool results. */
  calls: TurnRow[];
  first: TurnRow | undefined;
}

/** A candidate turn with the database's lexemes of its text and of its speaker's name. */
export interface CandidateRow {
  turn: TurnRow;
  lexemes: Lexemes;
  speakerLexemes: string[];
}

/** A query lexeme as the session's text-search vectors are searched for it. */
export interface QueryLexeme {
  lexeme: string;
  /** Also matches the longer lexemes it prefixes. */
  prefix: boolean;
}

/**
 * Where a query reads a session's turns from: the database (./index.ts, any size) or an in-process copy of a small
 * session (./snapshot.ts). Both answer every read the same way; only the cost differs.
 */
export interface TurnSource {
  structural(recentLimit: number, range: TimeRange | undefined, toolLimit?: number): Promise<StructuralCandidates>;
  /** Per lexeme, the sequences of its newest `perTerm` matches, newest first. */
  matches(lexemes: readonly QueryLexeme[], perTerm: number, range: TimeRange | undefined): Promise<number[][]>;
  /** The turns at these sequences (within the range), in sequence order. */
  rows(sequences: readonly number[], range: TimeRange | undefined): Promise<CandidateRow[]>;
  /**
   * Assistant turns that made the calls these results answer: the three call turns just before each result, then
   * calls still not found looked up by id across the session; newest first.
   */
  callTurns(results: readonly { sequence: number; tool_call_id: string | null }[]): Promise<TurnRow[]>;
  /** The user and assistant turns after this sequence, oldest first: what the word-vector index reads (semantic.ts). */
  conversation(after: number): Promise<{ sequence: number; name: string | null; content: string }[]>;
}

/**
 * A source whose conversation reads are shared within one query: the word index and the sentence vectors bring
 * themselves up to date at once, usually from the same point, so the first read also answers a later call from any
 * point past its own.
 */
export function sharedConversation(source: Pick<TurnSource, 'conversation'>): Pick<TurnSource, 'conversation'> {
  let first: { after: number; rows: ReturnType<TurnSource['conversation']> } | undefined;
  return {
    conversation(after) {
      if (first && after >= first.after) return first.rows.then((rows) => rows.filter((r) => r.sequence > after));
      const rows = source.conversation(after);
      first ??= { after, rows };
      return rows;
    },
  };
}

/** System turns read as constraints, oldest first. */
export const SYSTEM_TURNS = 20;
/** Call turns read just before each tool result. */
export const NEAR_CALLS = 3;
/** Call turns looked up by id across the session. */
export const FAR_CALLS = 100;

/** The speaker's name as lexemes, space-separated (the `english` configuration, as in the turn's vector). */
export const speakerLexemes = sql.raw(`array_to_string(tsvector_to_array(to_tsvector('english', coalesce(name, ''))), ' ')`);

/** The query's tsquery text for one lexeme (backslashes never occur: such lexemes are not searched). */
const tsQueryOf = (l: QueryLexeme) => `'${l.lexeme.replace(/'/g, "''")}'${l.prefix ? ':*' : ''}`;
const termOf = (l: QueryLexeme) => (l.prefix ? `${l.lexeme}:*` : l.lexeme);

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
  const session = sql`tenant_id = ${tenantId} AND session_id = ${sessionId}`;
  const memo: TermSession | undefined = remember && { tenantId, id: sessionId, ...remember };
  return {
    async structural(recentLimit, range, toolLimit = defaults.toolFindings.results) {
      const where = sql`${session} ${rangeFilter(range)}`;
      const rows = await store.query<TurnRow & { bucket: string }>(sql`
        (SELECT 'recent' AS bucket, ${turnColumns}, 0 AS score FROM turns
          WHERE ${where} AND role IN ('user', 'assistant') ORDER BY sequence DESC LIMIT ${recentLimit})
        UNION ALL
        (SELECT 'system', ${turnColumns}, 0 FROM turns WHERE ${where} AND role = 'system' ORDER BY sequence LIMIT ${SYSTEM_TURNS})
        UNION ALL
        (SELECT 'tool', ${turnColumns}, 0 FROM turns WHERE ${where} AND role = 'tool' ORDER BY sequence DESC LIMIT ${toolLimit})
        UNION ALL
        (SELECT 'calls', ${turnColumns}, 0 FROM turns WHERE ${where} AND role = 'assistant' AND tool_calls IS NOT NULL
          ORDER BY sequence DESC LIMIT ${toolLimit})
        UNION ALL
        (SELECT 'first', ${turnColumns}, 0 FROM turns WHERE ${where} AND role = 'user' ORDER BY sequence LIMIT 1)`);
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
      const read = lexemes.flatMap((l, i) => {
        const k = known?.[i];
        if (k?.kind === 'known') return [];
        const after = k?.kind === 'after' ? sql`AND sequence > ${k.after}` : sql``;
        const upTo = memo ? sql`AND sequence <= ${memo.last_sequence}` : sql``;
        return [sql`(SELECT ${i}::int AS ord, string_agg(sequence::text, ',') AS sequences FROM (
          SELECT sequence FROM turns WHERE ${session} AND tsv @@ ${tsQueryOf(l)}::tsquery ${rangeFilter(range)} ${after} ${upTo}
          ORDER BY sequence DESC LIMIT ${perTerm}) m)`];
      });
      if (read.length > 0) {
        const rows = await store.query<{ ord: number; sequences: string | null }>(sql.join(read, sql` UNION ALL `));
        for (const r of rows) if (r.sequences) out[Number(r.ord)] = r.sequences.split(',').map(Number);
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
        const rows = await store.query<TurnRow & { lexemes: string; speaker_lexemes: string }>(sql`
          SELECT ${turnColumns}, 0 AS score, tsv::text AS lexemes, ${speakerLexemes} AS speaker_lexemes
          FROM turns
          WHERE ${session} AND sequence = ANY(${`{${wanted.join(',')}}`}::int[]) ${rangeFilter(range)}
          ORDER BY sequence`);
        return rows.map(candidateRow);
      };
      // Time ranges are rare and read as before; otherwise only rows not yet remembered are read.
      if (!memo || range) return read(sequences);
      const { known, missing } = lookupRows(memo, sequences);
      const fresh = await read(missing);
      rememberRows(memo, fresh);
      return [...known, ...fresh].sort((a, b) => a.turn.sequence - b.turn.sequence);
    },

    async callTurns(results) {
      if (results.length === 0) return [];
      const where = sql`${session} AND role = 'assistant' AND tool_calls IS NOT NULL`;
      const sequences = [...new Set(results.map((r) => r.sequence))];
      const near = (
        await store.query<TurnRow>(sql`
          SELECT DISTINCT ON (c.sequence) c.* FROM unnest(${`{${sequences.join(',')}}`}::int[]) AS r(sequence)
          CROSS JOIN LATERAL (
            SELECT ${turnColumns}, 0 AS score FROM turns WHERE ${where} AND sequence < r.sequence ORDER BY sequence DESC LIMIT ${NEAR_CALLS}
          ) c
          ORDER BY c.sequence DESC`)
      ).map(normalizeTurn);
      const found = new Set(near.flatMap((t) => (t.tool_calls ?? []).map((c) => c.id)));
      const ids = [...new Set(results.map((r) => r.tool_call_id).filter((id): id is string => !!id && !found.has(id)))];
      if (ids.length === 0) return near;
      const far = await store.query<TurnRow>(sql`
        SELECT ${turnColumns}, 0 AS score FROM turns
        WHERE ${where} AND EXISTS (SELECT 1 FROM jsonb_array_elements(tool_calls) c WHERE c->>'id' = ANY(${pgTextArray(ids)}::text[]))
        ORDER BY sequence DESC LIMIT ${FAR_CALLS}`);
      const seen = new Set(near.map((t) => t.id));
      return [...near, ...far.map(normalizeTurn).filter((t) => !seen.has(t.id))];
    },

    async conversation(after) {
      const rows = await store.query<{ sequence: number; name: string | null; content: string }>(sql`
        SELECT sequence, name, content FROM turns
        WHERE ${session} AND sequence > ${after} AND role IN ('user', 'assistant')
        ORDER BY sequence`);
      return rows.map((r) => ({ sequence: Number(r.sequence), name: r.name, content: r.content }));
    },
  };
}

export function candidateRow(r: TurnRow & { lexemes: string; speaker_lexemes: string }): CandidateRow {
  return {
    turn: normalizeTurn(r),
    lexemes: parseTsvector(r.lexemes),
    speakerLexemes: r.speaker_lexemes ? r.speaker_lexemes.split(' ') : [],
  };
}

export interface HistoryCandidate extends Candidate {
  turn: TurnRow;
  /** A full-text hit (not only a neighbour of one). */
  seed: boolean;
}

export interface HistoryCandidates {
  /** The query's lexemes (the database's stemming) with their match counts in the session, capped. */
  terms: QueryTerm[];
  candidates: HistoryCandidate[];
}

export interface HistoryOptions {
  range?: TimeRange | undefined;
  /** Turns in the session: the N of the IDF used to pick seeds. */
  totalTurns: number;
  maxTerms?: number;
  /** Matches read per term (newest first); also the cap on a term's document frequency. */
  perTerm?: number;
  /** Hits kept by summed IDF before neighbours are added. */
  seeds?: number;
  /** Neighbours fetched on each side of a seed. */
  radius?: number;
  /** Lexemes at least this long also match longer lexemes they prefix. */
  prefixMin?: number;
  /**
   * Seeds found another way (by meaning), added after the lexical ones with one neighbour on each side; awaited only
   * once the lexical matches are read, so the two searches overlap.
   */
  extraSeeds?: readonly number[] | Promise<readonly number[]>;
}

const LEXEME_MEMO_MAX = 2_000;
const lexemeMemo = new Map<string, string[]>();

/**
 * The query's lexemes as the database stems them (the `english` configuration, as in the turns' vectors): the most
 * repeated first, then the latest, at most `maxTerms`. A pure function of the text, so it is remembered per process.
 */
export async function queryLexemes(store: Store, query: string, maxTerms: number): Promise<string[]> {
  const key = `${maxTerms}\u0000${query}`;
  const known = lexemeMemo.get(key);
  if (known) return known;
  const rows = await store.query<{ lexeme: string }>(sql`
    SELECT s.lexeme FROM (
      SELECT lexeme, coalesce(array_length(positions, 1), 1) * 100000 + coalesce(positions[array_length(positions, 1)], 0) AS weight
      FROM unnest(to_tsvector('english', ${query}))
      WHERE strpos(lexeme, chr(92)) = 0
      ORDER BY weight DESC LIMIT ${maxTerms}
    ) s
    ORDER BY s.weight DESC, s.lexeme`);
  const lexemes = rows.map((r) => r.lexeme);
  if (lexemeMemo.size >= LEXEME_MEMO_MAX) lexemeMemo.delete(lexemeMemo.keys().next().value!);
  lexemeMemo.set(key, lexemes);
  return lexemes;
}

/**
 * The query's lexemes, then each term's newest matches, capped so a common word costs no more than a rare one. The
 * seeds are chosen here: the matches with the highest summed IDF over the terms they contain. Last, the seeds and
 * the turns around them are read.
 */
export async function historyCandidates(
  source: TurnSource,
  store: Store,
  query: string,
  opts: HistoryOptions,
): Promise<HistoryCandidates> {
  const maxTerms = opts.maxTerms ?? defaults.history.maxQueryTerms;
  const perTerm = opts.perTerm ?? defaults.history.matchesPerTerm;
  const seedLimit = opts.seeds ?? defaults.history.seedsMax;
  const radius = opts.radius ?? defaults.history.neighbourRadius;
  const prefixMin = opts.prefixMin ?? defaults.history.prefixMinLength;

  const lexemes = (await queryLexemes(store, query, maxTerms)).map((lexeme) => ({ lexeme, prefix: [...lexeme].length >= prefixMin }));
  const matches = await source.matches(lexemes, perTerm, opts.range);
  const terms: QueryTerm[] = lexemes.map((l, i) => ({ lexeme: l.lexeme, df: matches[i]?.length ?? 0 }));
  const hitsBySequence = new Map<number, number[]>();
  matches.forEach((sequences, ord) => {
    for (const sequence of sequences) {
      const list = hitsBySequence.get(sequence);
      if (list) list.push(ord);
      else hitsBySequence.set(sequence, [ord]);
    }
  });
  const extra = await (opts.extraSeeds ?? []);
  if (hitsBySequence.size === 0 && extra.length === 0) return { terms, candidates: [] };

  const n = Math.max(opts.totalTurns, 1);
  const idfOf = terms.map((t) => Math.log(1 + (Math.max(n, t.df) - t.df + 0.5) / (t.df + 0.5)));
  const seeds = [...hitsBySequence]
    .map(([sequence, ords]) => ({ sequence, prior: ords.reduce((s, o) => s + idfOf[o]!, 0) }))
    .sort((a, b) => b.prior - a.prior || b.sequence - a.sequence)
    .slice(0, seedLimit)
    .map((s) => s.sequence);
  const seedSet = new Set(seeds);
  const wanted = new Set<number>();
  // The full radius around the better half of the seeds, one turn around the rest: fewer rows, same reach where
  // it matters.
  seeds.forEach((s, i) => {
    const r = i < seeds.length / 2 ? radius : Math.min(radius, 1);
    for (let d = -r; d <= r; d++) if (s + d > 0) wanted.add(s + d);
  });
  for (const s of extra) {
    seedSet.add(s);
    for (let d = -1; d <= 1; d++) if (s + d > 0) wanted.add(s + d);
  }

  const rows = await source.rows([...wanted].sort((a, b) => a - b), opts.range);
  return {
    terms,
    candidates: rows.map(({ turn, lexemes, speakerLexemes }) => ({
      id: turn.id,
      sequence: turn.sequence,
      createdAt: turn.created_at,
      content: turn.content,
      lexemes,
      speakerLexemes,
      seed: seedSet.has(turn.sequence),
      turn,
    })),
  };
}

export async function lexicalTurns(
  store: Store,
  tenantId: string,
  sessionId: string,
  tsQuery: string,
  opts: { limit?: number; range?: TimeRange | undefined; offset?: number } = {},
): Promise<TurnRow[]> {
  const rows = await store.query<TurnRow>(sql`
    SELECT ${turnColumns}, ts_rank_cd(tsv, q) AS score
    FROM turns, to_tsquery('english', ${tsQuery}) AS q
    WHERE tenant_id = ${tenantId} AND session_id = ${sessionId} AND tsv @@ q ${rangeFilter(opts.range)}
    ORDER BY score DESC, sequence DESC
    LIMIT ${opts.limit ?? defaults.lexicalCandidates} OFFSET ${opts.offset ?? 0}`);
  return rows.map(normalizeTurn);
}

export interface MemoryOwner {
  sessionId: string | null;
  userId: string | null;
  agentId: string | null;
  /** Groups the session's agent belongs to; agent-public memories shared with them are visible. */
  agentGroups: string[];
}

/** Ownership rules (seed 000 §2.3.3, ADR-004) as a WHERE clause on `memories`. */
export function visibleMemories(tenantId: string, owner: MemoryOwner): SQL {
  return sql`tenant_id = ${tenantId} AND (
    (scope = 'user' AND user_id = ${owner.userId} AND (agent_id IS NULL OR agent_id = ${owner.agentId}))
    OR (scope = 'agent' AND (agent_id = ${owner.agentId} OR shared_group_ids && ${pgTextArray(owner.agentGroups)}::text[]))
    OR (session_id = ${owner.sessionId})
  )`;
}

export async function recallMemories(
  store: Store,
  tenantId: string,
  owner: MemoryOwner,
  tsQuery: string | undefined,
  limit = 20,
): Promise<MemoryRow[]> {
  const rows = tsQuery
    ? await store.query<MemoryRow>(sql`
        SELECT id, content, scope, kind, importance, token_count, ts_rank_cd(tsv, q) AS score
        FROM memories, to_tsquery('english', ${tsQuery}) AS q
        WHERE ${visibleMemories(tenantId, owner)} AND (tsv @@ q OR kind = 'constraint')
        ORDER BY (tsv @@ q) DESC, score DESC, importance DESC LIMIT ${limit}`)
    : await store.query<MemoryRow>(sql`
        SELECT id, content, scope, kind, importance, token_count, importance AS score
        FROM memories WHERE ${visibleMemories(tenantId, owner)}
        ORDER BY importance DESC, updated_at DESC LIMIT ${limit}`);
  return rows.map((r) => ({ ...r, importance: Number(r.importance), token_count: Number(r.token_count), score: Number(r.score) }));
}
