import { describe, expect, it } from 'vitest';
import { rankSignals, type RankInput } from '../../src/pipeline/retriever/rank.js';
import { timeCues } from '../../src/pipeline/retriever/temporal.js';
import { candidate as turn } from '../fixtures/candidates.js';

/** The candidates the hand-built score places, best first; equal scores: the newer turn. */
const scored = (input: RankInput) =>
  rankSignals(input)
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score || b.candidate.sequence - a.candidate.sequence);
const ids = (r: ReturnType<typeof scored>) => r.map((x) => x.candidate.id);

describe('the ranking signals’ hand-built score', () => {
  it('weighs a rare term above a common one (IDF)', () => {
    const r = scored({
      candidates: [turn(1, 'ana', 'good day'), turn(5, 'ana', 'passport renew'), turn(9, 'ana', 'good good')],
      terms: [
        { lexeme: 'good', df: 80 },
        { lexeme: 'passport', df: 2 },
      ],
      totalTurns: 100,
    });
    expect(ids(r)[0]).toBe('t5');
  });

  it('lets the turn after a question inherit most of its score (neighbour expansion)', () => {
    const r = scored({
      candidates: [
        turn(1, 'ana', 'weather nice'),
        turn(2, 'bo', 'paint', { content: 'What did you paint?' }),
        turn(3, 'ana', 'sunset lake', { content: 'A sunset over the lake.' }),
        turn(4, 'bo', 'love'),
        turn(40, 'bo', 'unrelated thing'),
      ],
      terms: [{ lexeme: 'paint', df: 1 }],
      totalTurns: 100,
    });
    const order = ids(r);
    expect(order.slice(0, 2)).toEqual(['t2', 't3']);
    expect(order).toContain('t1');
    expect(order).not.toContain('t40');
    const answer = r.find((x) => x.candidate.id === 't3')!;
    const question = r.find((x) => x.candidate.id === 't2')!;
    expect(answer.score).toBeGreaterThan(0.85 * question.score);
    expect(r.find((x) => x.candidate.id === 't1')!.score).toBeLessThan(answer.score);
  });

  it('does not pass scores across a gap in the sequence or into another day', () => {
    const r = scored({
      candidates: [
        turn(10, 'ana', 'violin lesson'),
        turn(13, 'bo', 'nice'),
        turn(11, 'bo', 'cool', { day: '2023-06-01' }),
      ],
      terms: [{ lexeme: 'violin', df: 1 }],
      totalTurns: 50,
    });
    expect(ids(r)).toEqual(['t10']);
  });

  it('matches longer stems a query stem prefixes, below the exact match', () => {
    const r = scored({
      candidates: [
        turn(1, 'ana', 'entrepreneuri journey'),
        turn(20, 'ana', 'entrepreneur life'),
        turn(40, 'ana', 'other'),
      ],
      terms: [{ lexeme: 'entrepreneur', df: 2 }],
      totalTurns: 60,
    });
    expect(ids(r)).toEqual(['t20', 't1']);
  });

  it('boosts the named speaker, the topical day and the period the query names', () => {
    const base = [turn(1, 'ana', 'guitar', { day: '2023-05-08' }), turn(30, 'bo', 'guitar', { day: '2023-08-10' })];
    const plain = scored({
      candidates: base,
      terms: [{ lexeme: 'guitar', df: 2 }],
      totalTurns: 60,
      weights: { episode: 0 },
    });
    expect(ids(plain)[0]).toBe('t30'); // equal scores: the newer turn
    const named = scored({
      candidates: base,
      terms: [
        { lexeme: 'guitar', df: 2 },
        { lexeme: 'ana', df: 30 },
      ],
      totalTurns: 60,
      weights: { episode: 0 },
    });
    expect(ids(named)[0]).toBe('t1');
    const dated = scored({
      candidates: base,
      terms: [{ lexeme: 'guitar', df: 2 }],
      totalTurns: 60,
      cues: timeCues('in May'),
      weights: { episode: 0 },
    });
    expect(ids(dated)[0]).toBe('t1');
    const topical = scored({
      candidates: [...base, turn(2, 'bo', 'concert guitar band'), turn(3, 'ana', 'band')],
      terms: [
        { lexeme: 'guitar', df: 3 },
        { lexeme: 'band', df: 2 },
      ],
      totalTurns: 60,
    });
    expect(ids(topical).indexOf('t1')).toBeLessThan(ids(topical).indexOf('t30'));
  });

  it('orders turns that match only by a named participant by how much they recount, not by recency', () => {
    const recounting =
      'I just signed up for a pottery class yesterday, it is like therapy for me and I love the calm of it.';
    const candidates = [
      turn(3, 'ana', 'sign pottery class yesterday therapi love calm', { content: recounting }),
      turn(40, 'ana', 'wow great', { content: 'Wow, that is great!' }),
      turn(41, 'bo', 'hobbi', { content: 'Any hobbies?' }),
    ];
    const terms = [
      { lexeme: 'ana', df: 30 },
      { lexeme: 'hobbi', df: 3 },
    ];
    expect(
      ids(
        scored({ candidates, terms, totalTurns: 60, weights: { informative: 0, neighbour: 0, neighbour2: 0 } }),
      ).slice(0, 2),
    ).toEqual(['t41', 't40']);
    const r = scored({ candidates, terms, totalTurns: 60, weights: { neighbour: 0, neighbour2: 0 } });
    expect(ids(r).indexOf('t3')).toBeLessThan(ids(r).indexOf('t40'));
    // A turn that matches a term of its own is not re-weighed: 'hobbi' still ranks first.
    expect(ids(r)[0]).toBe('t41');
  });

  it('is deterministic and empty without candidates or matches', () => {
    expect(scored({ candidates: [], terms: [{ lexeme: 'x', df: 0 }], totalTurns: 0 })).toEqual([]);
    expect(scored({ candidates: [turn(1, 'ana', 'hello')], terms: [{ lexeme: 'zzz', df: 0 }], totalTurns: 5 })).toEqual(
      [],
    );
    const input = {
      candidates: [turn(1, 'a', 'x y'), turn(2, 'b', 'y z'), turn(3, 'a', 'z x')],
      terms: [
        { lexeme: 'x', df: 2 },
        { lexeme: 'z', df: 2 },
      ],
      totalTurns: 9,
    };
    expect(scored(input)).toEqual(scored(input));
  });
});
