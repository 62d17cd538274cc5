// Candidate rows (a turn with its lexemes) remembered in this process for sessions read from the database. A stored
// turn never changes, and questions about one session keep meeting the same turns (its names' and topics' matches and
// their neighbours: 62 % of the rows 200 LoCoMo questions asked for on a 100k-turn session had been read before), so
// a query reads only the rows it has not seen. Bounded by estimated bytes, least recently used dropped first.
import { defaults } from '../../config.js';
import type { CandidateRow } from './index.js';

interface Held {
  row: CandidateRow;
  bytes: number;
}

const held = new Map<string, Held>();
let heldBytes = 0;

/** A row's size: its text (two bytes a character) and about 1.5 KB of row object and lexeme map. */
const estimate = (row: CandidateRow) => 2 * row.turn.content.length + 1_536;

export interface RowSession {
  tenantId: string;
  id: string;
  /** A session deleted and created again under its id has another creation time, so its rows are read afresh. */
  created_at: string;
}

const sessionKey = (tenantId: string, sessionId: string) => `${tenantId}\u0000${sessionId}\u0000`;
const keyOf = (s: RowSession, sequence: number) => `${sessionKey(s.tenantId, s.id)}${s.created_at}\u0000${sequence}`;

/** What this process holds: rows and their estimated bytes. */
export function candidateRowStats(): { rows: number; bytes: number } {
  return { rows: held.size, bytes: heldBytes };
}

/** Drops a session's remembered rows (on deletion: its content must not outlive it here). */
export function forgetCandidateRows(tenantId: string, sessionId: string): void {
  const prefix = sessionKey(tenantId, sessionId);
  for (const [key, entry] of held) {
    if (key.startsWith(prefix)) {
      held.delete(key);
      heldBytes -= entry.bytes;
    }
  }
}

/** The remembered rows among `sequences`, and the sequences still to be read. */
export function lookupRows(s: RowSession, sequences: readonly number[]): { known: CandidateRow[]; missing: number[] } {
  const known: CandidateRow[] = [];
  const missing: number[] = [];
  for (const sequence of new Set(sequences)) {
    const key = keyOf(s, sequence);
    const entry = held.get(key);
    if (!entry) {
      missing.push(sequence);
      continue;
    }
    held.delete(key);
    held.set(key, entry);
    known.push(entry.row);
  }
  return { known, missing };
}

export function rememberRows(s: RowSession, rows: readonly CandidateRow[]): void {
  const maxBytes = defaults.candidateRows.maxBytes;
  for (const row of rows) {
    const key = keyOf(s, row.turn.sequence);
    const previous = held.get(key);
    if (previous) {
      held.delete(key);
      heldBytes -= previous.bytes;
    }
    const bytes = estimate(row);
    held.set(key, { row, bytes });
    heldBytes += bytes;
  }
  for (const [oldest, entry] of held) {
    if (heldBytes <= maxBytes) break;
    held.delete(oldest);
    heldBytes -= entry.bytes;
  }
}
