// Full-text matches of query terms remembered in this process for sessions read from the database (ADR 0011): turns
// are only appended, so a later query of a term reads only the matches after the sequence it was remembered at.
import { defaults } from '../../config/tuning.js';
import { SessionMemo, type MemoSession } from './session-memo.js';

interface Remembered {
  /** The session's last sequence when these matches were read. */
  upTo: number;
  /** How many matches the read asked for; a query wanting more reads afresh. */
  perTerm: number;
  /** Sequences, newest first (at most `perTerm`). */
  sequences: number[];
}

/** Per term; the size of an entry is the number of sequences it keeps. */
const remembered = new SessionMemo<Remembered>(
  (terms, sequences) => terms <= defaults.termMatches.maxTerms && sequences <= defaults.termMatches.maxSequences,
);

export interface TermSession extends MemoSession {
  /** The last sequence the request's session row counts: matches after it are not looked at. */
  last_sequence: number;
}

/** What this process holds: remembered terms and the sequences they keep. */
export function termMatchStats(): { terms: number; sequences: number } {
  const { entries, size } = remembered.stats();
  return { terms: entries, sequences: size };
}

/** Drops a session's remembered matches (on deletion). */
export function forgetTermMatches(tenantId: string, sessionId: string): void {
  remembered.forget(tenantId, sessionId);
}

export type TermRead =
  | { kind: 'known'; sequences: number[] }
  /** Matches after `after` are to be read and put before `sequences`. */
  | { kind: 'after'; after: number; sequences: number[] }
  | { kind: 'all' };

/** What a query of `term` must read, given what is remembered. */
export function lookupTerm(s: TermSession, term: string, perTerm: number): TermRead {
  const entry = remembered.peek(s, term);
  if (!entry || entry.perTerm < perTerm || entry.upTo > s.last_sequence) return { kind: 'all' };
  remembered.get(s, term); // used: now the most recently used
  const sequences = entry.sequences.slice(0, perTerm);
  return entry.upTo === s.last_sequence
    ? { kind: 'known', sequences }
    : { kind: 'after', after: entry.upTo, sequences };
}

/** Remembers a term's newest matches as read at the session's last sequence. */
export function rememberTerm(s: TermSession, term: string, perTerm: number, sequences: number[]): void {
  // A request that read an older session row never replaces what a newer one remembered.
  const previous = remembered.peek(s, term);
  if (previous && previous.upTo > s.last_sequence) return;
  remembered.set(s, term, { upTo: s.last_sequence, perTerm, sequences }, sequences.length);
}
