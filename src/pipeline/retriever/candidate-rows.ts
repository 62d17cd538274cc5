// Candidate rows (a turn with its lexemes) remembered in this process for sessions read from the database (ADR 0011):
// a stored turn never changes, so a query reads only rows it has not seen. Bounded by bytes, least recently used out.
import { defaults } from '../../config/tuning.js';
import { informativenessOf } from './informative.js';
import { Lexicon, numbered } from './lexemes.js';
import { positionOf, type CandidateRow } from './types.js';
import { SessionMemo, stringBytes, type MemoSession } from './session-memo.js';

/**
 * A session's remembered rows by position, least recently used first, and their estimated bytes in all; their
 * lexemes numbered in one lexicon, so a query's candidates (all held here) are counted by id (./rank.ts).
 */
interface SessionRows {
  byPosition: Map<number, { row: CandidateRow; bytes: number }>;
  bytes: number;
  lexicon: Lexicon;
  /** The lexicon's estimated bytes (counted in `bytes`): it keeps the words of rows dropped since. */
  lexiconBytes: number;
}

/** A lexicon's word as measured: its string, its map entry and its slot (about 110 bytes for 13 characters). */
const wordBytes = (word: string) => 96 + stringBytes(word);
/** Past this share of the bound a session's lexicon starts afresh, with its rows (texts of unique tokens grow it). */
const LEXICON_SHARE = 4;

/**
 * One entry per session, sized by its rows' bytes: past the bound the least recently queried sessions' rows go
 * first, and a session past it on its own loses its least recently used rows. A query looks its rows up by number
 * in its session's map (a key string per row cost more than the rest of the lookup).
 */
const held = new SessionMemo<SessionRows>((_, bytes) => bytes <= defaults.candidateRows.maxBytes);

/**
 * A held row's size, as measured (docs/performance.md): about 1 KB of row object, strings and memo entry, its text,
 * and 8 bytes a lexeme (its id and count; the words are the lexicon's).
 */
const estimate = (row: CandidateRow) =>
  1_024 + stringBytes(row.turn.content) + 4 * (row.lexemes.interned!.to - row.lexemes.interned!.from);

/** What this process holds: rows and their estimated bytes. */
export function candidateRowStats(): { rows: number; bytes: number } {
  let rows = 0;
  let bytes = 0;
  for (const { value } of held.leastRecent()) {
    rows += value.byPosition.size;
    bytes += value.bytes;
  }
  return { rows, bytes };
}

/** Drops a session's remembered rows (on deletion: its content must not outlive it here). */
export function forgetCandidateRows(tenantId: string, sessionId: string): void {
  held.forget(tenantId, sessionId);
}

/** The remembered rows among `sequences`, and the sequences still to be read. */
export function lookupRows(s: MemoSession, sequences: readonly number[]): { known: CandidateRow[]; missing: number[] } {
  const rows = held.get(s)?.byPosition;
  const known: CandidateRow[] = [];
  const missing: number[] = [];
  for (const sequence of new Set(sequences)) {
    const hit = rows?.get(sequence);
    if (!hit) {
      missing.push(sequence);
      continue;
    }
    // Now the session's most recently used row.
    rows!.delete(sequence);
    rows!.set(sequence, hit);
    known.push(hit.row);
  }
  return { known, missing };
}

/**
 * Remembers rows just read, as held: lexemes numbered in the session's lexicon, informativeness worked out (what a
 * query ranks them by). Returns the held rows.
 */
export function rememberRows(s: MemoSession, read: readonly CandidateRow[]): CandidateRow[] {
  if (read.length === 0) return [];
  let entry = held.peek(s);
  if (!entry || entry.lexiconBytes > defaults.candidateRows.maxBytes / LEXICON_SHARE)
    entry = { byPosition: new Map(), bytes: 0, lexicon: new Lexicon(), lexiconBytes: 0 };
  const { lexicon } = entry;
  const words = lexicon.words.length;
  const rows = read.map(
    (row): CandidateRow => ({
      ...row,
      lexemes: numbered(lexicon, row.lexemes),
      informativeness: row.informativeness ?? informativenessOf(row.turn.content),
    }),
  );
  for (let id = words; id < lexicon.words.length; id++) {
    const bytes = wordBytes(lexicon.words[id]!);
    entry.lexiconBytes += bytes;
    entry.bytes += bytes;
  }
  for (const row of rows) {
    const at = positionOf(row.turn);
    const previous = entry.byPosition.get(at);
    if (previous) {
      entry.byPosition.delete(at);
      entry.bytes -= previous.bytes;
    }
    const bytes = estimate(row);
    entry.byPosition.set(at, { row, bytes });
    entry.bytes += bytes;
  }
  for (const [at, { bytes }] of entry.byPosition) {
    if (entry.bytes <= defaults.candidateRows.maxBytes) break;
    entry.byPosition.delete(at);
    entry.bytes -= bytes;
  }
  held.set(s, '', entry, entry.bytes);
  return rows;
}
