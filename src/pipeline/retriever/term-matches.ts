// Full-text matches of a session's query terms, remembered in this process for sessions read from the database
// (those too large for an in-process copy, snapshot.ts). A term's newest matches are a pure function of the session's
// turns up to a sequence, and turns are only appended, so a later query of the same term reads only the matches after
// the sequence it was remembered at. Questions about one session repeat its names and topics: about half the terms of
// the LoCoMo questions recur within 200 questions, and the most frequent terms are the dearest to look up.
import { defaults } from '../../config.js';

interface Remembered {
  /** The session's last sequence when these matches were read. */
  upTo: number;
  /** How many matches the read asked for; a query wanting more reads afresh. */
  perTerm: number;
  /** Sequences, newest first (at most `perTerm`). */
  sequences: number[];
}

/** Entries in least-recently-used order (a Map iterates in insertion order; a hit is moved to the end). */
const remembered = new Map<string, Remembered>();
let heldSequences = 0;

export interface TermSession {
  tenantId: string;
  id: string;
  /** A session deleted and created again under its id has another creation time, so its terms are read afresh. */
  created_at: string;
  /** The last sequence the request's session row counts: matches after it are not looked at. */
  last_sequence: number;
}

const sessionKey = (s: Pick<TermSession, 'tenantId' | 'id'>) => `${s.tenantId}\u0000${s.id}\u0000`;
const keyOf = (s: TermSession, term: string) => `${sessionKey(s)}${s.created_at}\u0000${term}`;

/** What this process holds: remembered terms and the sequences they keep. */
export function termMatchStats(): { terms: number; sequences: number } {
  return { terms: remembered.size, sequences: heldSequences };
}

/** Drops a session's remembered matches (on deletion). */
export function forgetTermMatches(tenantId: string, sessionId: string): void {
  const prefix = sessionKey({ tenantId, id: sessionId });
  for (const [key, entry] of remembered) {
    if (key.startsWith(prefix)) {
      remembered.delete(key);
      heldSequences -= entry.sequences.length;
    }
  }
}

export type TermRead =
  | { kind: 'known'; sequences: number[] }
  /** Matches after `after` are to be read and put before `sequences`. */
  | { kind: 'after'; after: number; sequences: number[] }
  | { kind: 'all' };

/** What a query of `term` must read, given what is remembered. */
export function lookupTerm(s: TermSession, term: string, perTerm: number): TermRead {
  const key = keyOf(s, term);
  const entry = remembered.get(key);
  if (!entry || entry.perTerm < perTerm || entry.upTo > s.last_sequence) return { kind: 'all' };
  remembered.delete(key);
  remembered.set(key, entry);
  const sequences = entry.sequences.slice(0, perTerm);
  return entry.upTo === s.last_sequence ? { kind: 'known', sequences } : { kind: 'after', after: entry.upTo, sequences };
}

/** Remembers a term's newest matches as read at the session's last sequence. */
export function rememberTerm(s: TermSession, term: string, perTerm: number, sequences: number[]): void {
  const key = keyOf(s, term);
  const previous = remembered.get(key);
  // A request that read an older session row never replaces what a newer one remembered.
  if (previous && previous.upTo > s.last_sequence) return;
  if (previous) {
    remembered.delete(key);
    heldSequences -= previous.sequences.length;
  }
  remembered.set(key, { upTo: s.last_sequence, perTerm, sequences });
  heldSequences += sequences.length;
  const { maxTerms, maxSequences } = defaults.termMatches;
  for (const [oldest, entry] of remembered) {
    if (remembered.size <= maxTerms && heldSequences <= maxSequences) break;
    remembered.delete(oldest);
    heldSequences -= entry.sequences.length;
  }
}
