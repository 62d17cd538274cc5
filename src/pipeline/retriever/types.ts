// What retrieval reads and returns: turn and memory rows, the structural and history candidates, and the TurnSource
// interface both the database source (./sql-source.ts) and the in-process copy (./snapshot.ts) implement.
import type { Lexemes } from './lexemes.js';
import type { Candidate, QueryTerm } from './rank.js';

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
  /** Read from a user's history (./user-history.ts): the turn's session and its place in the history. */
  session_id?: string;
  history_sequence?: number;
}

/** Where a turn is in the source it was read from: its history sequence in a user's history, else its sequence. */
export const positionOf = (t: Pick<TurnRow, 'sequence' | 'history_sequence'>): number =>
  t.history_sequence ?? t.sequence;

export interface MemoryRow {
  id: string;
  content: string;
  scope: string;
  kind: string;
  importance: number;
  token_count: number;
  score: number;
  /** `learned` from a session's turns, or `written` by a caller. */
  origin?: string;
  /** When it became true (ISO); a learned memory's line shows it. */
  valid_from?: string;
  /** A learned memory's source: the session and the sequences of the turns it was learned from. */
  session_id?: string | null;
  source_sequences?: number[];
}

export interface TimeRange {
  from?: string | undefined;
  to?: string | undefined;
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
  /** How much the turn recounts (informative.ts), where the source keeps it. */
  informativeness?: number;
}

/** A query lexeme as the session's text-search vectors are searched for it. */
export interface QueryLexeme {
  lexeme: string;
  /** Also matches the longer lexemes it prefixes. */
  prefix: boolean;
}

/**
 * The turns a source reads: one session's, by sequence; or a user's history with one agent (every session's turns in
 * one sequence, ./user-history.ts), by history sequence. A source's "sequences" are positions in its scope.
 */
export type TurnScope = { kind: 'session'; id: string } | { kind: 'history'; id: string };

/** A scope's key in this process's memos: a history's never equals a session's, as `~` is not allowed in ids. */
export const memoIdOf = (scope: TurnScope): string => (scope.kind === 'session' ? scope.id : `~${scope.id}`);

/**
 * Where a query reads a session's turns from: the database (./sql-source.ts, any size) or an in-process copy of a
 * small session (./snapshot.ts). Both answer every read the same way; only the cost differs.
 */
export interface TurnSource {
  /**
   * Only a source read from this process's copy has it: the copy's user and assistant turns up to the request's last,
   * oldest first. The same row objects answer every query until the copy is dropped.
   */
  heldTurns?(): TurnRow[];
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

/** A user's history read as one session: the reads relevant history needs, and the system turns of its sessions. */
export interface HistorySource extends Pick<TurnSource, 'matches' | 'rows' | 'conversation' | 'heldTurns'> {
  /** The newest `limit` system turns of sessions other than `sessionId`, newest first. */
  constraints(sessionId: string, limit: number): Promise<TurnRow[]>;
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
