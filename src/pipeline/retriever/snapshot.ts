// An in-process copy of a small session's turns (ADR 0009), brought up to date by reading only the turns after its
// last; it answers every read exactly as the database source (./sql-source.ts) does, which the tests check.
import { sql } from 'drizzle-orm';
import type { Env } from '../../config/env.js';
import { defaults } from '../../config/tuning.js';
import { readRows, type Store } from '../../db/store.js';
import { ascendingOnce, firstIndex } from '../sorted.js';
import { candidateRow, FAR_CALLS, NEAR_CALLS, scopeSql, speakerLexemesOf, SYSTEM_TURNS } from './sql-source.js';
import {
  memoIdOf,
  positionOf,
  type CandidateRow,
  type HistorySource,
  type StructuralCandidates,
  type TimeRange,
  type TurnRow,
  type TurnScope,
  type TurnSource,
} from './types.js';
import { informativenessOf } from './informative.js';
import { fromInterned, Lexicon } from './lexemes.js';
import { learnFromVector } from './query-lexemes.js';
import { SessionMemo, stringBytes, withRoom, type MemoSession } from './session-memo.js';

/**
 * A held turn. Its lexemes are kept as interned pairs in the copy's `pairs` (from `from` to `to`), not as a map of
 * their own: a map and its strings per turn took about three times the memory, and only the rows a query reads need one.
 */
interface Held {
  turn: TurnRow;
  at: number;
  pos: number;
  from: number;
  to: number;
  /** The speaker's lexemes, when the turn has any. */
  speakers: string[] | undefined;
}

interface Snapshot {
  /**
   * Turns in order of position (`pos`: the sequence in a session, gap-free from 1, so `turns[i].pos` is i + 1; the
   * history sequence in a user's history, where a deleted session leaves gaps).
   */
  turns: Held[];
  /** Every held turn's lexemes, interned: [id, count, id, count, …], `used` of them filled. */
  pairs: Int32Array;
  /** Each held turn's informativeness (by index, as `turns`), worked out when a query first ranks it; NaN until then. */
  informative: Float64Array;
  used: number;
  /** The highest position read: every turn up to it is held. */
  upTo: number;
  /** The held turns' lexemes, numbered; each turn's lexemes carry their ids (Lexemes.interned). */
  lexicon: Lexicon;
  /** Lexeme id → positions of the turns that contain it, ascending. */
  postings: number[][];
  /**
   * Indexes (into `turns`, ascending) of the kinds of turn the structural read looks for, so a query does not walk the
   * whole session for, say, system turns it does not have.
   */
  kinds: Record<Kind, number[]>;
  /** Estimated bytes held (see `estimate`), for the memory bound. */
  bytes: number;
  /** Held turns whose time does not parse (no time range takes them in); none for rows the database wrote. */
  undated: number;
  /** When a request last read the copy (ms since the epoch). */
  usedAt: number;
}

type Kind = 'system' | 'user' | 'tool' | 'calls';

const kindsOf = (t: TurnRow): Kind[] => {
  if (t.role === 'assistant') return t.tool_calls !== null ? ['calls'] : [];
  return [t.role];
};

/** One entry per session or user history; its size is the copy's estimated bytes, its byte bound the caller's. */
const snapshots = new SessionMemo<Snapshot>((sessions) => sessions <= defaults.snapshot.sessionsKept);

/**
 * A held turn's size, as measured (a heap snapshot's difference per turn, docs/performance.md): about 1 KB of row,
 * strings and index entries, its text (one byte a character, two past Latin-1), 32 bytes a lexeme (pair and posting),
 * and its calls' arguments.
 */
function estimate(row: CandidateRow): number {
  const { content, tool_calls } = row.turn;
  let calls = 0;
  for (const c of tool_calls ?? []) calls += 256 + 2 * c.arguments.length;
  return 1_024 + stringBytes(content) + 32 * row.lexemes.tf.size + calls;
}

/** What a copy of a session not yet held is expected to take: `estimate` from its counts (~4 characters a token). */
const expectedBytes = (s: SnapshotSession) => 1_024 * s.last_sequence + 24 * s.total_tokens;

export interface SnapshotSession {
  id: string;
  created_at: string;
  last_sequence: number;
  total_tokens: number;
}

/**
 * Whether a session is small enough to be held in process: at most `maxTurns` turns and `defaults.snapshot.maxTokens`.
 */
function snapshotFits(session: SnapshotSession, maxTurns: number): boolean {
  return session.last_sequence <= maxTurns && session.total_tokens <= defaults.snapshot.maxTokens;
}

/**
 * Whether to read the scope from a copy: one is held, or one is expected to fit within `maxBytes` beside the copies
 * read in the last `idleMs`. Otherwise the database answers: when more sessions are queried in turn than fit, making
 * a copy for each query only to drop it for the next would read every session whole each time.
 */
export function snapshotAdmits(
  tenantId: string,
  scope: TurnScope,
  session: SnapshotSession,
  maxBytes: number,
  idleMs: number = defaults.snapshot.idleMs,
  now = Date.now(),
): boolean {
  if (snapshots.peek({ tenantId, id: memoIdOf(scope), created_at: session.created_at })) return true;
  let room = maxBytes - snapshots.stats().size;
  const needed = expectedBytes(session);
  for (const { value, size } of snapshots.leastRecent()) {
    if (room >= needed) break;
    if (now - value.usedAt < idleMs) break;
    room += size;
  }
  return room >= needed || snapshots.stats().entries === 0;
}

/**
 * The byte bound of a copy when the scope is to be read from one (small enough, `snapshotFits`, and admitted beside
 * the copies in use, `snapshotAdmits`); undefined when the database answers.
 */
export function copyBound(
  env: Pick<Env, 'CONTEXT_SESSION_COPY_MAX_TURNS' | 'CONTEXT_SESSION_COPY_MAX_MB'>,
  tenantId: string,
  scope: TurnScope,
  session: SnapshotSession,
): number | undefined {
  const maxBytes = env.CONTEXT_SESSION_COPY_MAX_MB * 1_000_000;
  const copied =
    snapshotFits(session, env.CONTEXT_SESSION_COPY_MAX_TURNS) && snapshotAdmits(tenantId, scope, session, maxBytes);
  return copied ? maxBytes : undefined;
}

/** What this process holds: sessions copied and their estimated bytes. */
export function snapshotStats(): { sessions: number; bytes: number } {
  const { entries, size } = snapshots.stats();
  return { sessions: entries, bytes: size };
}

/** Drops this process's copy of a session (on deletion: its content must not outlive it here). */
export function forgetSnapshot(tenantId: string, sessionId: string): void {
  snapshots.forget(tenantId, sessionId);
}

/**
 * The copy as the most recently used, at its current size; the least recently used go first once over either bound
 * (the newest copy is kept even when it alone passes `maxBytes`).
 */
function hold(s: MemoSession, snap: Snapshot, maxBytes: number) {
  const { sessionsKept } = defaults.snapshot;
  snapshots.set(
    s,
    '',
    snap,
    snap.bytes,
    (sessions, bytes) => sessions <= sessionsKept && (bytes <= maxBytes || sessions <= 1),
  );
}

const emptySnapshot = (): Snapshot => ({
  turns: [],
  pairs: new Int32Array(1024),
  informative: new Float64Array(1024),
  used: 0,
  upTo: 0,
  lexicon: new Lexicon(),
  postings: [],
  bytes: 0,
  undated: 0,
  usedAt: 0,
  kinds: { system: [], user: [], tool: [], calls: [] },
});

/**
 * The scope's turns up to at least its last position, read from the database only where the copy lacks them. A copy
 * may hold turns written after this request read its session row; readers look only at the first `last_sequence`.
 */
async function snapshotOf(
  store: Store,
  tenantId: string,
  scope: TurnScope,
  session: SnapshotSession,
  maxBytes: number,
): Promise<Snapshot> {
  const key: MemoSession = { tenantId, id: memoIdOf(scope), created_at: session.created_at };
  const known = snapshots.peek(key);
  if (known && known.upTo >= session.last_sequence) {
    known.usedAt = Date.now();
    hold(key, known, maxBytes);
    return known;
  }
  const from = known?.upTo ?? 0;
  const { where, pos, columns } = scopeSql(tenantId, scope);
  const rows = await readRows<TurnRow & { lexemes: string }>(
    store,
    sql`
    SELECT ${columns}, 0 AS score, tsv::text AS lexemes
    FROM turns
    WHERE ${where} AND ${pos} > ${from} AND ${pos} <= ${session.last_sequence}
    ORDER BY ${pos}`,
  );
  const speakerLexemes = await speakerLexemesOf(
    store,
    rows.map((r) => r.name),
  );
  // Extended in place: readers look only at the turns their session row counts, and appending happens at once
  // (no await in between). Another request may have extended the copy meanwhile; the rows it added are skipped.
  const current = snapshots.peek(key);
  const snap: Snapshot = current && current.upTo >= from ? current : (known ?? emptySnapshot());
  for (const r of rows) {
    const row = candidateRow(r, speakerLexemes);
    const p = positionOf(row.turn);
    if (p <= snap.upTo) continue;
    // The vector is of the speaker's name and the text (the turns' generated column).
    learnFromVector(store, `${row.turn.name ?? ''} ${row.turn.content}`, r.lexemes);
    // A session's sequences are gap-free from 1; anything else cannot be placed, and the database is read instead.
    if (scope.kind === 'session' && p !== snap.upTo + 1)
      throw new Error(`turn ${p} does not follow ${snap.upTo} in the session copy`);
    Object.freeze(row.turn.tool_calls);
    const at = Date.parse(row.turn.created_at);
    if (Number.isNaN(at)) snap.undated += 1;
    const from = snap.used;
    const to = from + 2 * row.lexemes.tf.size;
    snap.pairs = withRoom(snap.pairs, from, to, 0);
    for (const [lexeme, count] of row.lexemes.tf) {
      const id = snap.lexicon.idOf(lexeme);
      snap.pairs[snap.used++] = id;
      snap.pairs[snap.used++] = count;
      const list = snap.postings[id];
      if (list) list.push(p);
      else snap.postings[id] = [p];
    }
    const speakers = row.speakerLexemes.length > 0 ? row.speakerLexemes : undefined;
    snap.informative = withRoom(snap.informative, snap.turns.length, snap.turns.length + 1, 0);
    snap.informative[snap.turns.length] = Number.NaN;
    snap.turns.push(Object.freeze({ turn: Object.freeze(row.turn), at, pos: p, from, to, speakers }));
    snap.upTo = p;
    snap.bytes += estimate(row);
    for (const kind of kindsOf(row.turn)) snap.kinds[kind].push(snap.turns.length - 1);
  }
  if (scope.kind === 'session' && snap.upTo < session.last_sequence)
    throw new Error(`the session copy holds ${snap.upTo} of ${session.last_sequence} turns`);
  // A history's turns up to its last position were all written when its row was read: gaps are deleted sessions'.
  snap.upTo = Math.max(snap.upTo, session.last_sequence);
  snap.usedAt = Date.now();
  hold(key, snap, maxBytes);
  return snap;
}

const inRange = (range: TimeRange | undefined) => {
  const from = range?.from ? Date.parse(range.from) : -Infinity;
  const to = range?.to ? Date.parse(range.to) : Infinity;
  return (t: { at: number }) => t.at >= from && t.at <= to;
};

/** The newest `limit` items before index `end` that pass, newest first. */
function newest<T>(items: readonly T[], end: number, limit: number, pass: (t: T) => boolean): T[] {
  const out: T[] = [];
  for (let i = Math.min(end, items.length) - 1; i >= 0 && out.length < limit; i--)
    if (pass(items[i]!)) out.push(items[i]!);
  return out;
}

/**
 * The newest `limit` distinct values of several ascending lists that pass, newest first: `newest` over their sorted
 * union, merged from the ends so only what is returned (and what fails) is walked.
 */
export function newestOfAll(
  lists: readonly (readonly number[])[],
  limit: number,
  pass: (v: number) => boolean,
): number[] {
  const next = lists.map((l) => l.length - 1);
  const out: number[] = [];
  let last = Infinity;
  while (out.length < limit) {
    let best = -1;
    for (let k = 0; k < lists.length; k++)
      if (next[k]! >= 0 && (best < 0 || lists[k]![next[k]!]! > lists[best]![next[best]!]!)) best = k;
    if (best < 0) break;
    const v = lists[best]![next[best]!--]!;
    if (v === last) continue;
    last = v;
    if (pass(v)) out.push(v);
  }
  return out;
}

const makesCalls = (t: TurnRow) => t.role === 'assistant' && t.tool_calls !== null;

/** Positions of the turns that contain a lexeme, ascending. */
function postingsOf(snap: Snapshot, lexeme: string): number[] | undefined {
  const id = snap.lexicon.ids.get(lexeme);
  return id === undefined ? undefined : snap.postings[id];
}

/** How many held turns are at or before position `p` (with no gaps, `p` itself). */
function countUpTo(snap: Snapshot, p: number): number {
  const turns = snap.turns;
  if (p >= 1 && p <= turns.length && turns[p - 1]!.pos === p) return p;
  return firstIndex(turns.length, (i) => turns[i]!.pos > p);
}

/** Reads a small session from this process's copy, brought up to date with one read of its newer turns. */
export async function snapshotTurnSource(
  store: Store,
  tenantId: string,
  session: SnapshotSession,
  maxBytes = 96_000_000,
): Promise<TurnSource> {
  return copySource(await snapshotOf(store, tenantId, { kind: 'session', id: session.id }, session, maxBytes), session);
}

/** Reads a small user's history from this process's copy (`history`: the history as its memos key it). */
export async function snapshotHistorySource(
  store: Store,
  tenantId: string,
  historyId: string,
  history: SnapshotSession,
  maxBytes = 96_000_000,
): Promise<HistorySource> {
  return copySource(await snapshotOf(store, tenantId, { kind: 'history', id: historyId }, history, maxBytes), history);
}

function copySource(snap: Snapshot, session: SnapshotSession): TurnSource & HistorySource {
  // The session as this request saw it: turns appended since by other requests are not looked at.
  const last = session.last_sequence;
  const turns = snap.turns;
  const end = countUpTo(snap, last);
  /** Where the turn at position `p` is in `turns`, or -1. */
  const indexAt = (p: number): number => {
    if (p < 1 || p > last) return -1;
    if (turns[p - 1]?.pos === p) return p - 1;
    const i = firstIndex(turns.length, (k) => turns[k]!.pos >= p);
    return turns[i]?.pos === p ? i : -1;
  };
  const at = (p: number): Held | undefined => turns[indexAt(p)];
  // The turns of one kind (indexes ascending, see Snapshot.kinds) this request sees, newest or oldest first.
  const newestOf = (indexes: readonly number[], limit: number, pass: (t: Held) => boolean): Held[] =>
    newest(indexes, indexes.length, limit, (i) => i < end && pass(turns[i]!)).map((i) => turns[i]!);
  const oldestOf = (indexes: readonly number[], limit: number, pass: (t: Held) => boolean): Held[] => {
    const out: Held[] = [];
    for (let k = 0; k < indexes.length && indexes[k]! < end && out.length < limit; k++)
      if (pass(turns[indexes[k]!]!)) out.push(turns[indexes[k]!]!);
    return out;
  };
  return {
    heldTurns() {
      return turns
        .slice(0, end)
        .filter((t) => t.turn.role === 'user' || t.turn.role === 'assistant')
        .map((t) => t.turn);
    },
    async structural(recentLimit, range, toolLimit = defaults.toolFindings.results) {
      const within = inRange(range);
      const role = (r: TurnRow['role'] | 'user-or-assistant') => (t: Held) =>
        within(t) &&
        (r === 'user-or-assistant' ? t.turn.role === 'user' || t.turn.role === 'assistant' : t.turn.role === r);
      const turnsOf = (picked: Held[]) => picked.map((t) => t.turn);
      return {
        recent: turnsOf(newest(turns, end, recentLimit, role('user-or-assistant'))),
        system: turnsOf(oldestOf(snap.kinds.system, SYSTEM_TURNS, within)),
        tool: turnsOf(newestOf(snap.kinds.tool, toolLimit, within)),
        calls: turnsOf(newestOf(snap.kinds.calls, toolLimit, within)),
        first: oldestOf(snap.kinds.user, 1, within)[0]?.turn,
      };
    },

    async matches(lexemes, perTerm, range) {
      const within = inRange(range);
      const pass = (s: number) => {
        const t = at(s);
        return t !== undefined && within(t);
      };
      // Without a time range every held turn up to the request's last passes (when all are dated): a term's newest
      // matches are then the tail of its postings.
      const all = !range && snap.undated === 0;
      const held = () => true;
      // Postings hold only held turns' positions: then a position passes when the request sees it.
      const seen = all ? (s: number) => s <= last : pass;
      return lexemes.map(({ lexeme, prefix }) => {
        if (all && !prefix) {
          const list = postingsOf(snap, lexeme) ?? [];
          return newest(
            list,
            firstIndex(list.length, (i) => list[i]! > last),
            perTerm,
            held,
          );
        }
        const lists: number[][] = [];
        if (!prefix) lists.push(postingsOf(snap, lexeme) ?? []);
        else for (const key of snap.lexicon.withPrefix(lexeme)) lists.push(postingsOf(snap, key)!);
        return lists.length === 1
          ? newest(lists[0]!, lists[0]!.length, perTerm, seen)
          : newestOfAll(lists, perTerm, seen);
      });
    },

    async rows(sequences, range) {
      const within = !range && snap.undated === 0 ? undefined : inRange(range);
      const rows: CandidateRow[] = [];
      for (const p of ascendingOnce(sequences)) {
        const i = indexAt(p);
        const h = turns[i];
        if (!h || (within && !within(h))) continue;
        // Read now: appending later may move the numbers to a larger array, never change them.
        let informativeness = snap.informative[i]!;
        if (Number.isNaN(informativeness)) snap.informative[i] = informativeness = informativenessOf(h.turn.content);
        rows.push({
          turn: h.turn,
          lexemes: fromInterned(snap.lexicon, snap.pairs, h.from, h.to),
          speakerLexemes: h.speakers ?? [],
          informativeness,
        });
      }
      return rows;
    },

    async callTurns(results) {
      const near = new Map<number, TurnRow>();
      for (const sequence of new Set(results.map((r) => r.sequence))) {
        const before = countUpTo(snap, Math.min(last, sequence - 1));
        for (const t of newest(turns, before, NEAR_CALLS, (h) => makesCalls(h.turn))) near.set(t.turn.sequence, t.turn);
      }
      const nearTurns = [...near.values()].sort((a, b) => b.sequence - a.sequence);
      const found = new Set(nearTurns.flatMap((t) => (t.tool_calls ?? []).map((c) => c.id)));
      const ids = new Set(results.map((r) => r.tool_call_id).filter((id): id is string => !!id && !found.has(id)));
      if (ids.size === 0) return nearTurns;
      const far = newestOf(snap.kinds.calls, FAR_CALLS, (t) => t.turn.tool_calls!.some((c) => ids.has(c.id)));
      return [...nearTurns, ...far.map((t) => t.turn).filter((t) => !near.has(t.sequence))];
    },

    async conversation(after) {
      return turns
        .slice(countUpTo(snap, Math.max(0, after)), end)
        .filter((t) => t.turn.role === 'user' || t.turn.role === 'assistant')
        .map((t) => ({ sequence: t.pos, name: t.turn.name, content: t.turn.content }));
    },

    async constraints(sessionId, limit) {
      return newestOf(snap.kinds.system, limit, (t) => t.turn.session_id !== sessionId).map((t) => t.turn);
    },
  };
}
