// A query's lexemes are weighed in process from the text of its tsvector: the same lexemes, in the same order, as the
// statement that unnests and sorts them in SQL, on every database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryLexemes } from '../../src/pipeline/retriever/index.js';
import { weighedFromText } from '../../src/pipeline/retriever/history.js';
import { readRows } from '../../src/db/store.js';
import { backends, harness, type Harness } from '../helpers.js';

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
];

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

  it('leave out lexemes holding a backslash and read quotes inside lexemes', () => {
    expect(weighedFromText("'a\\\\b':1 'o''brien':2,5 'x':3", 5)).toEqual(["o'brien", 'x']);
    expect(weighedFromText("'late':9 'early':1 'twice':2,4", 2)).toEqual(['twice', 'late']);
  });
});
