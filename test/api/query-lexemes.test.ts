// A query's lexemes are weighed in process from the text of its tsvector: the same lexemes, in the same order, as the
// statement that unnests and sorts them in SQL, on every database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type SQL } from 'drizzle-orm';
import { queryLexemes } from '../../src/pipeline/retriever/index.js';
import { learnFromVector, plainWords, weighedFromText } from '../../src/pipeline/retriever/query-lexemes.js';
import { localLexeme, PROBE_WORDS, stemmingOf } from '../../src/pipeline/retriever/english-stems.js';
import { readRows, type Store } from '../../src/db/store.js';
import { backends, harness, refusingStore, tenant, type Harness } from '../helpers.js';

const texts = [
  'What did Caroline paint last summer, and when did she paint it?',
  'paint paint paint the lake; the lake at dusk',
  "It's O'Brien's café: naïve résumé, über-cool co-op",
  'C:\\Users\\ada\\notes.txt and a\\b or \\\\server\\share',
  'flight UA-1234 on 2024-05-03 at 10:45, booking ref X9Y8Z7, $1,299.00',
  'email ada@example.com or visit https://example.com/a?b=c#d',
  '日本語のテキスト and emoji 🎉 party 🎉 party',
  'the and of a an to is it',
  '',
  `${'word '.repeat(300)}other words at the end`,
  // Plain texts (stemmed word by word from remembered words): apostrophes, stop words holding their places, numbers
  // and words with digits, repeats, case, and punctuation that ends a word.
  "Caroline's friends didn't say: where's Melanie's 2nd painting (the lake one)? It's \"Lake at Dusk\"; painted in 2022!",
  'Yeah.. Thanks, Nate. It was... fine',
  'Running runs ran RUNNER runner. Mr. Smith ran; the runner ran, again: 3 times.',
  'what when where who why how is are was were the a an of to in on at by',
];

/** The store, counting the statements sent through it. */
function countingStore(store: Store): Store & { sent: number } {
  const counting = {
    ...store,
    sent: 0,
    query: <T>(statement: SQL) => (counting.sent++, store.query<T>(statement)),
    read: <T>(statement: SQL) => (counting.sent++, readRows<T>(store, statement)),
  };
  return counting;
}

/** A word of letters no query or turn held before (its lexeme may still be shorter: "…ded" stems). */
const fresh = () => `zp${crypto.randomUUID().replace(/[^a-f]/g, '')}`;

/** Words of letters of many shapes (suffixes the stemmer handles, short stems, doubles, y) with numbers. */
const vocabulary = (() => {
  const stems = ['add', 'off', 'egg', 'hop', 'run', 'nation', 'general', 'happy', 'commune', 'fly', 'sky', 'agree'];
  const more = ['relate', 'organ', 'univers', 'past', 'care', 'cry', 'die', 'bias', 'news', 'succeed', 'inn', 'odd'];
  const suffixes = ['', 's', 'es', 'ed', 'ing', 'ly', 'ness', 'ational', 'ization', 'fulness', 'ement', 'able'];
  const ends = ['ible', 'ical', 'ative', 'ize', 'ies', 'ied', 'eed', 'edly', 'ingly', 'ful', 'ism', 'ist', 'ity'];
  const words = [...stems, ...more].flatMap((w) => [...suffixes, ...ends].map((x) => w + x));
  return [
    ...words,
    'evening',
    'innings',
    'skis',
    'dying',
    'idly',
    'gently',
    'only',
    '0042',
    '2024',
    'the',
    'ourselves',
  ];
})();

/** The statement queryLexemes ran before: the weighing and order in SQL. */
const inSql = (text: string, maxTerms: number) => sql`
  SELECT s.lexeme FROM (
    SELECT lexeme, coalesce(array_length(positions, 1), 1) * 100000 + coalesce(positions[array_length(positions, 1)], 0) AS weight
    FROM unnest(to_tsvector('english', ${text}))
    WHERE strpos(lexeme, chr(92)) = 0
    ORDER BY weight DESC LIMIT ${maxTerms}) s
  ORDER BY s.weight DESC, s.lexeme`;

describe.each(backends)('query lexemes on $name', ({ open }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(open);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('equal the lexemes weighed and ordered in SQL, at any limit', async () => {
    for (const [k, text] of texts.entries()) {
      for (const maxTerms of [2, 16]) {
        const expected = (await readRows<{ lexeme: string }>(h.deps.store, inSql(text, maxTerms))).map((r) => r.lexeme);
        // A suffix of its own per call, so no earlier answer is remembered: it stems to a lexeme of its own.
        const query = `${text} zq${k}x${maxTerms}`;
        const withSuffix = (await readRows<{ lexeme: string }>(h.deps.store, inSql(query, maxTerms))).map(
          (r) => r.lexeme,
        );
        expect(await queryLexemes(h.deps.store, query, maxTerms)).toEqual(withSuffix);
        const [row] = await readRows<{ v: string }>(
          h.deps.store,
          sql`SELECT to_tsvector('english', ${text})::text AS v`,
        );
        expect(weighedFromText(row!.v, maxTerms)).toEqual(expected);
      }
    }
  });

  it('of a plain text come from remembered or stemmed words, with no statement, as the database weighs the whole text', async () => {
    const plain = texts.filter((t) => plainWords(t) !== undefined);
    expect(plain.length).toBeGreaterThanOrEqual(4);
    // Teaches every word of these texts (each text once, with a suffix of its own).
    for (const [k, text] of plain.entries()) await queryLexemes(h.deps.store, `${text} zw${k}`, 16);
    const noStore = refusingStore(h.deps.store);
    for (const text of plain) {
      // The same words in another order and case make a query not asked before.
      const query = [...text.split(' ')].reverse().join(' ').toUpperCase();
      for (const maxTerms of [2, 16]) {
        const expected = (await readRows<{ lexeme: string }>(h.deps.store, inSql(query, maxTerms))).map(
          (r) => r.lexeme,
        );
        expect(await queryLexemes(noStore, query, maxTerms)).toEqual(expected);
      }
    }
  });

  it('of words a stored turn holds are learned from its vector when the session copy reads the turn', async () => {
    const c = await tenant(h);
    // Words of letters only that no query asked before, so only the turn's vector can teach them.
    const [a, b, d] = [fresh(), fresh(), fresh()];
    const content = `Painted ${a} lakes at the ${b}ing dusk; ${a}'s friends said: "the ${d}s were lovely, ${d}s again"`;
    await c.client.writeTurns('learn', { turns: [{ role: 'user', name: 'Caroline', content }] });
    const res = await c.call('POST', '/v1/sessions/learn/context', { query: 'lakes', budget_tokens: 500 });
    expect(res.status).toBe(200);
    // A database handle never probed: no word is stemmed here, so only remembered words answer.
    const noStore = { ...refusingStore(h.deps.store), db: {} as Store['db'] };
    const query = `Were the ${d}s ${b}ing at dusk when Caroline painted ${a}?`;
    const expected = (await readRows<{ lexeme: string }>(h.deps.store, inSql(query, 16))).map((r) => r.lexeme);
    expect(expected.filter((l) => l.startsWith('zp'))).toHaveLength(3);
    expect(await queryLexemes(noStore, query, 16)).toEqual(expected);
  });

  it('of plain words never seen are stemmed here, with no statement, once probe words showed the same stemming', async () => {
    const store = countingStore(h.deps.store);
    // The first new word sends one statement, with the probe words (unless the database was probed before).
    const first = fresh();
    const lexemeOfFirst = (await readRows<{ lexeme: string }>(h.deps.store, inSql(first, 16))).map((r) => r.lexeme);
    expect(await queryLexemes(store, first, 16)).toEqual(lexemeOfFirst);
    expect(store.sent).toBeLessThanOrEqual(1);
    const sent = store.sent;
    for (const [k, word] of vocabulary.entries()) {
      const query = `${word} and the ${vocabulary[(k * 7) % vocabulary.length]} ${k}`;
      const expected = (await readRows<{ lexeme: string }>(h.deps.store, inSql(query, 16))).map((r) => r.lexeme);
      expect(await queryLexemes(store, query, 16), query).toEqual(expected);
    }
    expect(store.sent).toBe(sent);
  });

  it('are asked of the database again once a stored vector disagrees with the stemming here', async () => {
    const store = countingStore(h.deps.store);
    await queryLexemes(store, fresh(), 16);
    const sent = store.sent;
    await queryLexemes(store, `${fresh()} jumping`, 16);
    expect(store.sent).toBe(sent);
    // A vector (of another configuration, say) that gives a word of letters another lexeme than the stemmer here.
    const word = fresh();
    const [own] = (await readRows<{ lexeme: string }>(h.deps.store, inSql(word, 1))).map((r) => r.lexeme);
    learnFromVector(store, `${word} cartwheeling`, `'${own}':1 'cartwheeling':2`);
    await queryLexemes(store, `${fresh()} hopping`, 16);
    expect(store.sent).toBe(sent + 1);
  });

  it('leave out lexemes holding a backslash and read quotes inside lexemes', () => {
    expect(weighedFromText("'a\\\\b':1 'o''brien':2,5 'x':3", 5)).toEqual(["o'brien", 'x']);
    expect(weighedFromText("'late':9 'early':1 'twice':2,4", 2)).toEqual(['twice', 'late']);
  });
});

describe('stemming here', () => {
  it('tells Snowball 2 from Snowball 3 by the probe words, and neither from another stemmer', () => {
    const as = (f: (w: string) => string) => new Map(PROBE_WORDS.map((w) => [w, f(w)]));
    expect(stemmingOf(as((w) => localLexeme(w, 'snowball2')))).toBe('snowball2');
    expect(stemmingOf(as((w) => localLexeme(w, 'snowball3')))).toBe('snowball3');
    expect(stemmingOf(as((w) => (w === 'running' ? 'running' : localLexeme(w, 'snowball2'))))).toBeUndefined();
    expect(stemmingOf(as((w) => (w === 'the' ? 'the' : localLexeme(w, 'snowball3'))))).toBeUndefined();
    expect(stemmingOf(new Map())).toBeUndefined();
  });

  it('keeps the double of a short stem in Snowball 3 alone, drops stop words and keeps numbers', () => {
    expect(['added', 'offing', 'eggs', 'hopped'].map((w) => localLexeme(w, 'snowball2'))).toEqual([
      'ad',
      'of',
      'egg',
      'hop',
    ]);
    expect(['added', 'offing', 'eggs', 'hopped'].map((w) => localLexeme(w, 'snowball3'))).toEqual([
      'add',
      'off',
      'egg',
      'hop',
    ]);
    expect(['the', 'ourselves', '007', 'generously'].map((w) => localLexeme(w, 'snowball3'))).toEqual([
      '',
      '',
      '007',
      'generous',
    ]);
  });
});

describe('plain texts', () => {
  it('are ASCII words and numbers with only blanks between them', () => {
    expect(plainWords("Where's Melanie's 2nd painting? (the lake one); Mr. Smith: 3.")).toEqual([
      'where',
      's',
      'melanie',
      's',
      '2nd',
      'painting',
      'the',
      'lake',
      'one',
      'mr',
      'smith',
      '3',
    ]);
    expect(plainWords('')).toEqual([]);
    // Tokens of other kinds to the database's parser: hyphenated words, hosts, files, decimals, times, e-mail, URLs,
    // tags, entities, non-ASCII letters.
    for (const text of [
      'well-known',
      'e.g. this',
      'example.com',
      'a/b',
      '3.5',
      '1,299',
      '10:45',
      'a@b',
      'Yeah.. thanks',
      'no\u00a0break',
      'x_y',
      '<b>',
      '&amp;',
      'café',
    ])
      expect(plainWords(text), text).toBeUndefined();
    expect(plainWords('x'.repeat(101))).toBeUndefined();
  });
});
