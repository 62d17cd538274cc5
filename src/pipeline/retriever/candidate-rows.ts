// Candidate rows (a turn with its lexemes) remembered in this process for sessions read from the database (ADR 0011):
// a stored turn never changes, so a query reads only rows it has not seen. Bounded by bytes, least recently used out.
import { defaults } from '../../config/tuning.js';
import { positionOf, type CandidateRow } from './types.js';
import { SessionMemo, stringBytes, type MemoSession } from './session-memo.js';

/** Per turn (the part is its sequence); the size of an entry is its estimated bytes. */
const held = new SessionMemo<CandidateRow>((_, bytes) => bytes <= defaults.candidateRows.maxBytes);

/**
 * A row's size, as measured (docs/performance.md): about 1 KB of row object, strings and memo entry, its text, and
 * 56 bytes a lexeme (its entry in the lexeme map and its string).
 */
const estimate = (row: CandidateRow) => 1_024 + stringBytes(row.turn.content) + 56 * row.lexemes.tf.size;

/** What this process holds: rows and their estimated bytes. */
export function candidateRowStats(): { rows: number; bytes: number } {
  const { entries, size } = held.stats();
  return { rows: entries, bytes: size };
}

/** Drops a session's remembered rows (on deletion: its content must not outlive it here). */
export function forgetCandidateRows(tenantId: string, sessionId: string): void {
  held.forget(tenantId, sessionId);
}

/** The remembered rows among `sequences`, and the sequences still to be read. */
export function lookupRows(s: MemoSession, sequences: readonly number[]): { known: CandidateRow[]; missing: number[] } {
  const known: CandidateRow[] = [];
  const missing: number[] = [];
  for (const sequence of new Set(sequences)) {
    const row = held.get(s, String(sequence));
    if (row) known.push(row);
    else missing.push(sequence);
  }
  return { known, missing };
}

export function rememberRows(s: MemoSession, rows: readonly CandidateRow[]): void {
  for (const row of rows) held.set(s, String(positionOf(row.turn)), row, estimate(row));
}
