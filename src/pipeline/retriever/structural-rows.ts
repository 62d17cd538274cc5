// Structural candidates (newest turns, system turns, tool results and calls, the first user turn) and the call turns
// just before each tool result, remembered in this process for sessions read from the database: turns never change, so
// a later query reads only the turns written since, and the calls before a result are read once.
import { SessionMemo, type MemoSession } from './session-memo.js';
import type { TermSession } from './term-matches.js';
import type { StructuralCandidates, TurnRow } from './types.js';

interface Held extends StructuralLimits {
  /** Every turn up to this sequence has been seen. */
  upTo: number;
  value: StructuralCandidates;
}

export interface StructuralLimits {
  recentLimit: number;
  toolLimit: number;
  systemLimit: number;
}

/** Estimated bytes held by each of the two memos, least recently used dropped first. */
export const STRUCTURAL_MAX_BYTES = 16_000_000;
/** More turns than this written since the last read: one structural read costs less than reading them all. */
export const STRUCTURAL_CATCH_UP = 256;

const held = new SessionMemo<Held>((_, bytes) => bytes <= STRUCTURAL_MAX_BYTES);
const nearCalls = new SessionMemo<TurnRow[]>((_, bytes) => bytes <= STRUCTURAL_MAX_BYTES);

/** Rows' size: their text (two bytes a character) and about 1 KB of row object each. */
const bytesOf = (rows: readonly (TurnRow | undefined)[]) =>
  rows.reduce((n, t) => n + (t ? 2 * t.content.length + 1_024 : 0), 64);
const sizeOf = (v: StructuralCandidates) => bytesOf([...v.recent, ...v.system, ...v.tool, ...v.calls, v.first]);

/** Drops a session's remembered candidates and calls (on deletion: its content must not outlive it here). */
export function forgetStructural(tenantId: string, sessionId: string): void {
  held.forget(tenantId, sessionId);
  nearCalls.forget(tenantId, sessionId);
}

/** The candidates cut to smaller limits: what a read with those limits returns (newest first, system oldest first). */
const cut = (v: StructuralCandidates, l: StructuralLimits): StructuralCandidates => ({
  recent: v.recent.slice(0, l.recentLimit),
  system: v.system.slice(0, l.systemLimit),
  tool: v.tool.slice(0, l.toolLimit),
  calls: v.calls.slice(0, l.toolLimit),
  first: v.first,
});

/**
 * What is remembered for the session as of its row's last sequence: `{ value }` when it answers as is, `{ after }`
 * when only the turns after that sequence need reading (then `extendStructural`), nothing when a whole read is due.
 */
export function lookupStructural(
  s: TermSession,
  limits: StructuralLimits,
): { value: StructuralCandidates } | { after: number } | undefined {
  const last = s.last_sequence;
  const h = held.get(s);
  if (!h || h.upTo > last || last - h.upTo > STRUCTURAL_CATCH_UP) return undefined;
  if (h.recentLimit < limits.recentLimit || h.toolLimit < limits.toolLimit || h.systemLimit < limits.systemLimit)
    return undefined;
  return h.upTo === last ? { value: cut(h.value, limits) } : { after: h.upTo };
}

/** Remembers a whole read with its limits, as of the session row's last sequence. */
export function rememberStructural(s: TermSession, limits: StructuralLimits, value: StructuralCandidates): void {
  held.set(s, '', { upTo: s.last_sequence, ...limits, value }, sizeOf(value));
}

/**
 * The remembered candidates brought up to the session row's last sequence with the turns written after them (`newer`,
 * oldest first), as a whole read would return them; returned cut to `limits`.
 */
export function extendStructural(
  s: TermSession,
  limits: StructuralLimits,
  newer: readonly TurnRow[],
): StructuralCandidates {
  const { value: v, upTo: _, ...kept } = held.peek(s)!;
  const newestFirst = [...newer].reverse();
  const conversational = newestFirst.filter((t) => t.role === 'user' || t.role === 'assistant');
  const calls = newestFirst.filter((t) => t.role === 'assistant' && t.tool_calls !== null);
  const value: StructuralCandidates = {
    recent: [...conversational, ...v.recent].slice(0, kept.recentLimit),
    system: [...v.system, ...newer.filter((t) => t.role === 'system')].slice(0, kept.systemLimit),
    tool: [...newestFirst.filter((t) => t.role === 'tool'), ...v.tool].slice(0, kept.toolLimit),
    calls: [...calls, ...v.calls].slice(0, kept.toolLimit),
    first: v.first ?? newer.find((t) => t.role === 'user'),
  };
  held.set(s, '', { upTo: s.last_sequence, ...kept, value }, sizeOf(value));
  return cut(value, limits);
}

/** The remembered call turns just before each of these results (by sequence), and the results still to be read. */
export function lookupNearCalls(s: MemoSession, results: readonly number[]): { known: TurnRow[][]; missing: number[] } {
  const known: TurnRow[][] = [];
  const missing: number[] = [];
  for (const r of results) {
    const calls = nearCalls.get(s, String(r));
    if (calls) known.push(calls);
    else missing.push(r);
  }
  return { known, missing };
}

/** Remembers the call turns just before a result (they never change: only earlier turns are read). */
export function rememberNearCalls(s: MemoSession, result: number, calls: TurnRow[]): void {
  nearCalls.set(s, String(result), calls, bytesOf(calls));
}
