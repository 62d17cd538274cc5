import { describe, expect, it } from 'vitest';
import { intern, Lexicon, sharedLexicon } from '../../src/pipeline/retriever/lexemes.js';
import { lexemeCounts, rankSignals, signalValues } from '../../src/pipeline/retriever/rank.js';
import { relevantFacts, twoRarest } from '../../src/pipeline/retriever/relevant.js';
import type { HistoryCandidate } from '../../src/pipeline/retriever/index.js';
import { rng } from '../fence-check.js';
import { candidate } from '../fixtures/candidates.js';

// Candidates of a session copy carry their lexemes as ids of the copy's lexicon; counting and ranking them by id must
// give exactly what the lexeme maps give.
const words = ['ana', 'bo', 'paint', 'painter', 'painting', 'lake', 'sun', 'sunset', 'hill', 'boat', 'class', 'camp'];

/** The same candidates, interned in one lexicon that also holds lexemes none of them uses (one a term's variant). */
function interned(cands: readonly HistoryCandidate[], lexicon = new Lexicon()): HistoryCandidate[] {
  lexicon.idOf('unused');
  lexicon.idOf('paintbrush');
  return cands.map((c) => ({
    ...c,
    lexemes: intern(lexicon, { tf: new Map(c.lexemes.tf), length: c.lexemes.length }),
  }));
}

function randomCandidates(seed: number): HistoryCandidate[] {
  const r = rng(seed);
  return Array.from({ length: 2 + r.int(12) }, (_, i) =>
    candidate(
      i + 1 + r.int(3),
      r.pick(['ana', 'bo']),
      Array.from({ length: r.int(9) }, () => r.pick(words)).join(' '),
      { day: r.pick(['2023-05-08', '2023-05-09']) },
    ),
  );
}

describe('lexemes interned in a lexicon', () => {
  it('numbers each lexeme once, in order of first sight, with its occurrences', () => {
    const lexicon = new Lexicon();
    const a = intern(lexicon, {
      tf: new Map([
        ['paint', 2],
        ['lake', 1],
      ]),
      length: 3,
    });
    const b = intern(lexicon, {
      tf: new Map([
        ['lake', 4],
        ['boat', 1],
      ]),
      length: 5,
    });
    expect(lexicon.words).toEqual(['paint', 'lake', 'boat']);
    expect([...a.interned!.pairs]).toEqual([0, 2, 1, 1]);
    expect([...b.interned!.pairs]).toEqual([1, 4, 2, 1]);
    expect(sharedLexicon([{ lexemes: a }, { lexemes: b }])).toBe(lexicon);
    expect(sharedLexicon([{ lexemes: a }, { lexemes: { tf: new Map(), length: 0 } }])).toBeUndefined();
    expect(sharedLexicon([{ lexemes: a }, { lexemes: intern(new Lexicon(), { tf: new Map(), length: 0 }) }])).toBe(
      undefined,
    );
  });

  it('finds the words under a prefix, in string order, words numbered after a lookup included', () => {
    const lexicon = new Lexicon();
    for (const w of ['painter', 'lake', 'paint', 'pain']) lexicon.idOf(w);
    expect(lexicon.withPrefix('paint')).toEqual(['paint', 'painter']);
    for (const w of ['paintbrush', 'pa', 'painting', 'zebra']) lexicon.idOf(w);
    expect(lexicon.withPrefix('paint')).toEqual(['paint', 'paintbrush', 'painter', 'painting']);
    expect(lexicon.withPrefix('pa')).toEqual(['pa', 'pain', 'paint', 'paintbrush', 'painter', 'painting']);
    expect(lexicon.withPrefix('zz')).toEqual([]);
    expect(lexicon.withPrefix('')).toEqual([...lexicon.words].sort());
  });

  it('counts the candidates holding each lexeme as the lexeme maps do, in the same order', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const plain = randomCandidates(seed);
      const byId = interned(plain);
      const counts = lexemeCounts(byId);
      expect([...counts]).toEqual([...lexemeCounts(plain)]);
      expect([...counts.keys()]).toEqual([...lexemeCounts(plain).keys()]);
      for (const w of [...words, 'unused', 'never']) expect(counts.get(w)).toBe(lexemeCounts(plain).get(w));
      for (const c of byId) expect(twoRarest(c, counts)).toEqual(twoRarest(c, lexemeCounts(plain)));
    }
  });

  it('gives the same signals and facts as the lexeme maps, prefix variants shared by terms included', async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const plain = randomCandidates(seed);
      const r = rng(seed + 1000);
      // 'paint' and 'painte' both prefix 'painter': one lexeme in two terms' variants.
      const terms = Array.from({ length: 1 + r.int(4) }, () => ({
        lexeme: r.pick([...words, 'painte', 'never']),
        df: 1 + r.int(20),
      }));
      const input = { query: 'What did Ana paint by the lake?', terms, totalTurns: 50 };
      const strip = (s: ReturnType<typeof rankSignals>) =>
        s.map((x) => {
          const { candidate, ...rest } = signalValues(x);
          return { id: candidate.id, ...rest };
        });
      expect(strip(rankSignals({ ...input, candidates: interned(plain) }))).toEqual(
        strip(rankSignals({ ...input, candidates: plain })),
      );
      const facts = (f: Awaited<ReturnType<typeof relevantFacts>>) =>
        f.map(({ signals, ...rest }) => ({ ...rest, ...strip([signals])[0] }));
      expect(facts(await relevantFacts({ ...input, candidates: interned(plain) }))).toEqual(
        facts(await relevantFacts({ ...input, candidates: plain })),
      );
    }
  });

  it('counts only what its candidates hold when the lexicon grew after they were read', () => {
    const lexicon = new Lexicon();
    const cands = interned(randomCandidates(7), lexicon);
    const before = [...lexemeCounts(cands)];
    for (const w of ['later', 'paint', 'newer']) lexicon.idOf(w);
    expect([...lexemeCounts(cands)]).toEqual(before);
    expect(lexemeCounts(cands).get('later')).toBeUndefined();
  });
});
