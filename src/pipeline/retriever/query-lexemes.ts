// A query's lexemes as the database stems them (the `english` configuration, as in the turns' vectors), remembered per
// query and per word, or stemmed here where the database is known to stem the same way: a query of plain words then
// needs no statement.
import { sql, type SQL } from 'drizzle-orm';
import { defaults } from '../../config/tuning.js';
import { readRows, type Store } from '../../db/store.js';
import { localLexeme, PROBE_WORDS, SIMPLE_WORD, stemmingOf, type Stemming } from './english-stems.js';
import { scanTsvector } from './lexemes.js';

const LEXEME_MEMO_MAX = 2_000;
const lexemeMemo = new Map<string, string[]>();

/** A plain word's lexeme ('' for a stop word), or null when the database reads it as anything but one word. */
const wordMemo = new Map<string, string | null>();
const WORD_MEMO_MAX = 50_000;
/** Words longer than this, or texts of more words, are left to the database (its limits are far above these). */
const WORD_MAX_CHARS = 100;
const PLAIN_MAX_WORDS = 1_000;

/**
 * How each database (by its drizzle handle) stems simple words, from probe words sent with the first words it is asked
 * for (null: no stemming here agrees, so every new word is asked for).
 */
const stemmings = new WeakMap<Store['db'], Stemming | null>();

/**
 * A plain word's lexeme: stemmed here when the store's stemming is known and the word is simple (whatever another
 * database taught the memo), else remembered; undefined when neither knows it.
 */
function lexemeOf(store: Store, word: string): string | null | undefined {
  const stemming = stemmings.get(store.db);
  return stemming && SIMPLE_WORD.test(word) ? localLexeme(word, stemming) : wordMemo.get(word);
}

/**
 * Text the database's parser splits into ASCII words and numbers with only blanks between them, each a token of its
 * own: no hyphen, slash, underscore, `@`, `&`, tag or non-ASCII letter, and `.`, `,` or `:` only before a space or at
 * the end (hosts, files, decimals, versions, times, URLs and runs of dots are tokens of their own kinds).
 */
const NOT_PLAIN = /[^A-Za-z0-9 \t\n\r?!;"()'.,:]|[.,:](?=[^ \t\n\r])/;

/** The text's words in order, lower-cased, when it is plain (see NOT_PLAIN) and short enough; otherwise undefined. */
export function plainWords(text: string): string[] | undefined {
  if (NOT_PLAIN.test(text)) return undefined;
  const words = text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  if (words.length > PLAIN_MAX_WORDS || words.some((w) => w.length > WORD_MAX_CHARS)) return undefined;
  return words;
}

/** Each lexeme's occurrences and last position, weighed: the most repeated first, then the latest, then by spelling. */
function weighed(found: { lexeme: string; count: number; last: number }[], maxTerms: number): string[] {
  return found
    .map(({ lexeme, count, last }) => ({ lexeme, weight: count * 100_000 + last }))
    .sort((a, b) => b.weight - a.weight || (a.lexeme < b.lexeme ? -1 : a.lexeme > b.lexeme ? 1 : 0))
    .slice(0, maxTerms)
    .map((x) => x.lexeme);
}

/**
 * The `maxTerms` lexemes of a tsvector's text form (`'lexeme':1,5 'other':3`) that weigh most: the most repeated
 * first, then the latest (by their last position); lexemes holding a backslash left out.
 */
export function weighedFromText(text: string, maxTerms: number): string[] {
  const found: { lexeme: string; count: number; last: number }[] = [];
  scanTsvector(text, (lexeme, count, last, backslash) => {
    if (!backslash) found.push({ lexeme, count, last });
  });
  return weighed(found, maxTerms);
}

/**
 * The same from the words' remembered lexemes: word i is at position i + 1 (stop words hold their place, as in the
 * database's vector). Undefined when a word is not remembered or is not one word to the database.
 */
function weighedFromWords(store: Store, words: readonly string[], maxTerms: number): string[] | undefined {
  const seen = new Map<string, { lexeme: string; count: number; last: number }>();
  for (const [i, word] of words.entries()) {
    const lexeme = lexemeOf(store, word);
    if (lexeme === undefined || lexeme === null) return undefined;
    if (lexeme === '') continue;
    const s = seen.get(lexeme);
    if (s) s.count++, (s.last = i + 1);
    else seen.set(lexeme, { lexeme, count: 1, last: i + 1 });
  }
  return weighed([...seen.values()], maxTerms);
}

/**
 * Asks the database for the lexeme of each word (one statement) and remembers them; the first time for a store, with
 * the probe words that tell whether a stemming here agrees with it.
 */
async function learnWords(store: Store, words: readonly string[]): Promise<void> {
  const probing = !stemmings.has(store.db);
  const asked = probing ? [...new Set([...words, ...PROBE_WORDS])] : words;
  const rows = await readRows<{ w: string; v: string }>(
    store,
    sql`SELECT w, to_tsvector('english', w)::text AS v FROM jsonb_array_elements_text(${JSON.stringify(asked)}::jsonb) AS t(w)`,
  );
  const probed = new Map<string, string | null>();
  for (const { w, v } of rows) {
    let lexeme: string | null = '';
    let lexemes = 0;
    scanTsvector(v, (found, count, last, backslash) => {
      lexemes++;
      lexeme = count === 1 && last === 1 && !backslash ? found : null;
    });
    const known = lexemes > 1 ? null : lexeme;
    probed.set(w, known);
    if (wordMemo.size >= WORD_MEMO_MAX) wordMemo.delete(wordMemo.keys().next().value!);
    wordMemo.set(w, known);
  }
  if (probing) stemmings.set(store.db, stemmingOf(probed) ?? null);
}

/** A lexeme's positions in a tsvector's text form, for plain text (no quote or backslash inside a lexeme). */
const POSITIONS = /'([a-z0-9]+)':([0-9,]+)/g;
/** A lexeme holds at most 256 positions in a vector: longer texts could lose some. */
const LEARN_MAX_WORDS = 255;

/**
 * Learns the lexemes of a stored turn's words from its vector (`to_tsvector('english', text)` as text), read anyway:
 * in plain text of simple words, word i is at position i + 1, and a position without a lexeme is a stop word.
 * Nothing is learned when the vector does not line up with the words, or once the memo is full. A word whose lexeme
 * differs from the one stemmed here ends stemming here for that store.
 */
export function learnFromVector(store: Store, text: string, vector: string): void {
  if (wordMemo.size >= WORD_MEMO_MAX || text.length > 4_000) return;
  const words = plainWords(text);
  if (!words || words.length > LEARN_MAX_WORDS || words.every((w) => wordMemo.has(w))) return;
  if (!words.every((w) => SIMPLE_WORD.test(w))) return;
  const at = new Array<string>(words.length).fill('');
  for (const [, lexeme, positions] of vector.matchAll(POSITIONS))
    for (const p of positions!.split(',')) {
      const i = Number(p) - 1;
      if (!(i >= 0 && i < words.length) || at[i] !== '') return;
      at[i] = lexeme!;
    }
  // Every word's lexeme the same wherever it occurs, and the same as any remembered before.
  const learned = new Map<string, string>();
  for (const [i, w] of words.entries()) {
    const before = learned.get(w) ?? wordMemo.get(w);
    if (before !== undefined && before !== at[i]) return;
    learned.set(w, at[i]!);
  }
  const stemming = stemmings.get(store.db);
  for (const [w, lexeme] of learned) {
    if (stemming && lexeme !== localLexeme(w, stemming)) {
      stemmings.set(store.db, null);
      lexemeMemo.clear();
    }
    if (!wordMemo.has(w)) wordMemo.set(w, lexeme);
  }
}

/**
 * The query's vector (`to_tsvector('english', …)` as text) as a column of another statement, so a request can read
 * it in a round trip it makes anyway; `rememberLexemes` then weighs it and keeps the lexemes for queryLexemes.
 */
export const queryLexemesColumn = (query: string): SQL => sql`to_tsvector('english', ${query})::text`;

/** Whether queryLexemes would answer without a statement. */
export function lexemesKnown(store: Store, query: string, maxTerms: number = defaults.history.maxQueryTerms): boolean {
  if (lexemeMemo.has(`${maxTerms}\u0000${query}`)) return true;
  const words = plainWords(query);
  return words !== undefined && words.every((w) => typeof lexemeOf(store, w) === 'string');
}

function remember(query: string, lexemes: string[], maxTerms: number): string[] {
  if (lexemeMemo.size >= LEXEME_MEMO_MAX) lexemeMemo.delete(lexemeMemo.keys().next().value!);
  lexemeMemo.set(`${maxTerms}\u0000${query}`, lexemes);
  return lexemes;
}

/** Keeps a query's lexemes, weighed from its vector's text (read by queryLexemesColumn), for queryLexemes. */
export function rememberLexemes(
  query: string,
  vector: string,
  maxTerms: number = defaults.history.maxQueryTerms,
): string[] {
  return remember(query, weighedFromText(vector, maxTerms), maxTerms);
}

/**
 * The query's lexemes as the database stems them: the most repeated first, then the latest, at most `maxTerms`. A
 * pure function of the text, remembered per process; a plain text (see NOT_PLAIN) is stemmed word by word, and only
 * words not seen before are sent to the database.
 */
export async function queryLexemes(store: Store, query: string, maxTerms: number): Promise<string[]> {
  const known = lexemeMemo.get(`${maxTerms}\u0000${query}`);
  if (known) return known;
  const words = plainWords(query);
  if (words) {
    const unknown = [...new Set(words.filter((w) => lexemeOf(store, w) === undefined))];
    if (unknown.length) await learnWords(store, unknown);
    const lexemes = weighedFromWords(store, words, maxTerms);
    if (lexemes) return remember(query, lexemes, maxTerms);
  }
  // Reads no table: on the embedded database, session rows remembered before it stay current. The vector's text is
  // weighed here rather than in SQL (unnesting and sorting in the statement cost the embedded database twice as much).
  const rows = await readRows<{ v: string }>(store, sql`SELECT ${queryLexemesColumn(query)} AS v`);
  return rememberLexemes(query, rows[0]?.v ?? '', maxTerms);
}
