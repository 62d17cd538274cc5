import { describe, expect, it } from 'vitest';
import { featureRows, probabilities, ranker } from '../../src/pipeline/retriever/learned.js';
import { lexemeCounts } from '../../src/pipeline/retriever/rank.js';
import { rankRelevant, relevantFacts, twoRarest } from '../../src/pipeline/retriever/relevant.js';
import { rng } from '../fence-check.js';
import { candidate } from '../fixtures/candidates.js';

const candidates = [
  candidate(1, 'ana', 'weather', { content: 'Nice weather today.', seed: false }),
  candidate(2, 'bo', 'paint', { content: 'What did you paint?' }),
  candidate(3, 'ana', 'sunset lake', {
    content: 'A sunset over the lake, with the hills behind it and the boats coming in for the night.',
    seed: false,
  }),
  candidate(4, 'ana', 'paint paint class', {
    content: 'I started a painting class last week and I paint every evening now.',
  }),
  candidate(9, 'bo', 'paint', { content: 'Paint.' }),
  candidate(30, 'ana', 'camp', { content: 'We went camping two weekends ago.' }),
];
const input = {
  query: 'What does Ana paint?',
  terms: [
    { lexeme: 'paint', df: 3 },
    { lexeme: 'ana', df: 4 },
  ],
  candidates,
  totalTurns: 40,
};

describe('relevant history order', () => {
  it('orders every candidate by the model’s probability per token', async () => {
    const ranked = await rankRelevant(input);
    expect(ranked.map((r) => r.candidate.id).sort()).toEqual(candidates.map((c) => c.id).sort());
    const value = (r: (typeof ranked)[number]) => r.score / (r.candidate.turn.token_count + 4);
    for (let i = 1; i < ranked.length; i++) expect(value(ranked[i - 1]!)).toBeGreaterThanOrEqual(value(ranked[i]!));
    // The scores are the model's probabilities for these candidates' features.
    const facts = await relevantFacts(input);
    const p = probabilities(ranker.model, featureRows(facts));
    const byId = new Map(facts.map((f, i) => [f.signals.candidate.id, p[i]!]));
    for (const r of ranked) expect(r.score).toBeCloseTo(byId.get(r.candidate.id)!, 12);
  });

  it('ranks the turn that matches the query above one that does not', async () => {
    const ranked = await rankRelevant(input);
    const at = (id: string) => ranked.findIndex((r) => r.candidate.id === id);
    expect(at('t4')).toBeLessThan(at('t1'));
    expect(ranked.find((r) => r.candidate.id === 't4')!.score).toBeGreaterThan(
      ranked.find((r) => r.candidate.id === 't30')!.score,
    );
  });

  it('follows the model in use', async () => {
    const shipped = ranker.model;
    try {
      // A model that only likes long turns puts the longest first, whatever matches.
      ranker.model = { features: ['logTokens'], mean: [0], scale: [1], weights: [40], bias: -130 };
      const ranked = await rankRelevant(input);
      expect(ranked[0]!.candidate.id).toBe('t3');
    } finally {
      ranker.model = shipped;
    }
  });
});

describe('a query about the present, across a user’s sessions', () => {
  // One long session in January, one on 1 June, then five short ones on the five days after it.
  const day = (d: string, sequence: number, session: string, words: string, content: string) => ({
    ...candidate(sequence, 'ana', words, { day: d, content }),
    session,
  });
  const sessions = [
    day('2023-01-10', 1, 'jan', 'live lisbon', 'We live in Lisbon.'),
    day('2023-06-01', 2, 'jun', 'live moved porto', 'We moved to Porto, we live there now.'),
    ...[2, 3, 4, 5, 6].map((d) => day(`2023-06-0${d}`, d + 1, `short${d}`, 'weather', `Rain again on day ${d}.`)),
  ];
  const asked = { ...input, query: 'Where do we live now?', terms: [{ lexeme: 'live', df: 2 }], candidates: sessions };
  const past = { ...asked, query: 'Where did we live?' };

  it('weighs a session by how late it began in time, not by how many sessions came after it', async () => {
    const now = new Map((await rankRelevant(asked)).map((r) => [r.candidate.id, r.score]));
    const then = new Map((await rankRelevant(past)).map((r) => [r.candidate.id, r.score]));
    const factor = (id: string) => now.get(id)! / then.get(id)!;
    const span = Date.parse('2023-06-06') - Date.parse('2023-01-10');
    // The June session began five days before the latest: it keeps nearly all of its probability.
    expect(factor('t2')).toBeCloseTo(
      Math.exp(-3 * (1 - (Date.parse('2023-06-01') - Date.parse('2023-01-10')) / span)),
      6,
    );
    expect(factor('t2')).toBeGreaterThan(0.9);
    // The January one is the earliest: e^-3 of the latest.
    expect(factor('t1')).toBeCloseTo(Math.exp(-3), 6);
    expect(factor('t7')).toBeCloseTo(1, 6);
  });
});

describe('the candidates’ vocabulary', () => {
  it('counts the candidates holding each lexeme, once per candidate', () => {
    expect(Object.fromEntries(lexemeCounts(candidates))).toEqual({
      ana: 4,
      bo: 2,
      weather: 1,
      paint: 3,
      sunset: 1,
      lake: 1,
      class: 1,
      camp: 1,
    });
  });

  it('keys a candidate by its two rarest lexemes, names left out, as sorting them would', () => {
    const df = lexemeCounts(candidates);
    for (const c of candidates) {
      const sorted = [...c.lexemes.tf.keys()]
        .filter((l) => !c.speakerLexemes.includes(l))
        .sort((a, b) => df.get(a)! - df.get(b)! || (a < b ? -1 : 1))
        .slice(0, 2);
      expect(twoRarest(c, df)).toEqual(sorted);
    }
    expect(twoRarest(candidates[3]!, df)).toEqual(['class', 'paint']);
    // Many lexemes, ties in rarity broken by spelling, the speaker's name never a key.
    const words = ['ana', 'bo', 'paint', 'lake', 'sun', 'set', 'hill', 'boat', 'night', 'class', 'camp', 'week'];
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const many = Array.from({ length: 8 }, (_, i) =>
        candidate(i + 1, r.pick(['ana', 'bo']), Array.from({ length: r.int(9) }, () => r.pick(words)).join(' ')),
      );
      const counts = lexemeCounts(many);
      for (const c of many) {
        const sorted = [...c.lexemes.tf.keys()]
          .filter((l) => !c.speakerLexemes.includes(l))
          .sort((a, b) => counts.get(a)! - counts.get(b)! || (a < b ? -1 : 1))
          .slice(0, 2);
        expect(twoRarest(c, counts)).toEqual(sorted);
      }
    }
    expect(twoRarest(candidates[4]!, df)).toEqual(['paint']);
  });

  it('gives the same facts whether the caller counts the vocabulary or the ranking does', async () => {
    expect(await relevantFacts(input, lexemeCounts(candidates))).toEqual(await relevantFacts(input));
  });
});

describe('near-duplicates within the packing’s reach', () => {
  // Pairs of turns that repeat each other (the second adds a word), each pair in its own words, all about painting.
  const vocabulary = 'lake hill boat night class camp week garden kitchen river bridge market winter harbour forest'
    .split(' ')
    .concat('violin recipe puppy bicycle museum concert island mountain letter teacher'.split(' '));
  const r = rng(7);
  const pairs = Array.from({ length: 12 }, (_, k) => {
    const words = ['paint', ...Array.from({ length: 6 }, () => r.pick(vocabulary))].join(' ');
    const said = `I paint the ${words.split(' ').slice(1).join(' and the ')} most evenings.`;
    return [
      candidate(10 * k + 1, 'ana', words, { content: said }),
      candidate(10 * k + 2, 'ana', words, { content: `${said} Really.` }),
    ];
  }).flat();
  const asked = { ...input, candidates: pairs, terms: [{ lexeme: 'paint', df: pairs.length }] };
  const marks = (ranked: Awaited<ReturnType<typeof rankRelevant>>) =>
    ranked.map((x) => [x.candidate.id, x.duplicateOf ?? null]);

  it('marks the same near-duplicates among the turns a budget reaches, and compares none past them', async () => {
    const all = await rankRelevant(asked);
    expect(all.filter((x) => x.duplicateOf).length).toBeGreaterThanOrEqual(6);
    for (const budget of [20, 60, 120, 400]) {
      const within = await rankRelevant({ ...asked, budgetTokens: budget });
      expect(within.map((x) => x.candidate.id)).toEqual(all.map((x) => x.candidate.id));
      // The reach: turns before the stored counts (and four each) pass 1.5 budgets.
      let reach = 0;
      for (let total = 0; reach < all.length && total <= 1.5 * budget; reach++)
        total += all[reach]!.candidate.turn.token_count + 4;
      expect(marks(within).slice(0, reach)).toEqual(marks(all).slice(0, reach));
      expect(within.slice(reach).every((x) => x.duplicateOf === undefined)).toBe(true);
      if (all.slice(reach).some((x) => x.duplicateOf)) expect(marks(within)).not.toEqual(marks(all));
    }
    expect(marks(await rankRelevant({ ...asked, budgetTokens: 10_000 }))).toEqual(marks(all));
  });
});
