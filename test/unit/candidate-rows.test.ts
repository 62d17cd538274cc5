import { describe, expect, it } from 'vitest';
import { defaults } from '../../src/config/tuning.js';
import {
  candidateRowStats,
  forgetCandidateRows,
  lookupRows,
  rememberRows,
} from '../../src/pipeline/retriever/candidate-rows.js';
import { sharedLexicon } from '../../src/pipeline/retriever/lexemes.js';
import type { CandidateRow } from '../../src/pipeline/retriever/types.js';
import { candidate } from '../fixtures/candidates.js';

// Rows of about 1 MB each (one shared text), so a few dozen pass the process's byte bound.
const text = 'x'.repeat(1_000_000);
const rowsOf = (from: number, count: number): CandidateRow[] =>
  Array.from({ length: count }, (_, i) => {
    const { turn, lexemes, speakerLexemes } = candidate(from + i, 'ana', 'lake', { content: text });
    return { turn, lexemes, speakerLexemes: [...speakerLexemes] };
  });
const session = (id: string) => ({ tenantId: 'rows-test', id, created_at: '2026-12-01T00:00:00.000Z' });
const perBound = Math.floor(defaults.candidateRows.maxBytes / 1_000_000);

describe('remembered candidate rows', () => {
  it('finds rows by position, only in their own session, and forgets a deleted session', () => {
    const a = session('a');
    rememberRows(a, rowsOf(1, 3));
    const { known, missing } = lookupRows(a, [3, 1, 1, 7]);
    expect(known.map((r) => r.turn.sequence)).toEqual([3, 1]);
    expect(missing).toEqual([7]);
    expect(lookupRows(session('b'), [1, 2]).missing).toEqual([1, 2]);
    // The same session id created again is another session.
    expect(lookupRows({ ...a, created_at: '2026-12-02T00:00:00.000Z' }, [1]).missing).toEqual([1]);
    forgetCandidateRows('rows-test', 'a');
    expect(lookupRows(a, [1, 2, 3]).missing).toEqual([1, 2, 3]);
  });

  it("drops the least recently queried session first, then a session's least recently used rows", () => {
    const a = session('old');
    const b = session('new');
    rememberRows(a, rowsOf(1, 10));
    rememberRows(b, rowsOf(1, perBound - 5));
    // Over the bound: the rows of the session queried longest ago go, the newer session's stay.
    expect(lookupRows(a, [1]).missing).toEqual([1]);
    expect(lookupRows(b, [1, perBound - 5]).missing).toEqual([]);
    expect(candidateRowStats().bytes).toBeLessThanOrEqual(defaults.candidateRows.maxBytes);

    // One session past the bound on its own keeps its most recently used rows: row 1 was just looked up.
    rememberRows(b, rowsOf(perBound, 10));
    const { missing } = lookupRows(b, [1, 2, perBound + 9]);
    expect(missing).toEqual([2]);
    expect(candidateRowStats().bytes).toBeLessThanOrEqual(defaults.candidateRows.maxBytes);
    expect(candidateRowStats().rows).toBeGreaterThan(perBound - 5);
    forgetCandidateRows('rows-test', 'new');
  });

  it('counts the words its lexicon numbers within the bound, and starts afresh past its share', () => {
    const s = session('words');
    // Rows of 500 words never seen before each (a tool's unique tokens): the lexicon, not the rows, grows the memory.
    let next = 0;
    const wordy = (from: number, count: number): CandidateRow[] =>
      Array.from({ length: count }, (_, i) => {
        const words = Array.from({ length: 500 }, () => `token${(next++).toString(36)}`).join(' ');
        const { turn, lexemes, speakerLexemes } = candidate(from + i, 'ana', words, { content: 'x' });
        return { turn, lexemes, speakerLexemes: [...speakerLexemes] };
      });
    const first = sharedLexicon(rememberRows(s, wordy(1, 10)))!;
    expect(first).toBeDefined();
    // Ten rows' own estimates are about 1 KB and 4 KB of lexeme ids each; their 5,000 new words count beside them.
    expect(candidateRowStats().bytes).toBeGreaterThan(10 * 5_000 + 5_000 * 96);
    let lexicon = first;
    let before = 0;
    let at = 11;
    for (; lexicon === first && at < 10_000; at += 10) {
      before = candidateRowStats().bytes;
      lexicon = sharedLexicon(rememberRows(s, wordy(at, 10)))!;
    }
    // Past a quarter of the bound in words, the lexicon started afresh with the rows read then; older rows are gone.
    expect(lexicon).not.toBe(first);
    expect(before).toBeGreaterThan(defaults.candidateRows.maxBytes / 4);
    expect(candidateRowStats().bytes).toBeLessThan(defaults.candidateRows.maxBytes / 4);
    expect(lookupRows(s, [1, at - 10]).missing).toEqual([1]);
    forgetCandidateRows('rows-test', 'words');
  });
});
