// A plain word's lexeme as the database's `english` configuration gives it, worked out in process: its stop list, then
// the Snowball English stemmer (porter2). Used only where probe words show that the database stems the same way.
import { stem } from 'porter2';

/**
 * Snowball 2 (PostgreSQL up to 17), or Snowball 3 (18, and so PGlite), which keeps the double consonant of a stem of
 * three letters starting with a, e or o ("added" → `add`, not `ad`).
 */
export type Stemming = 'snowball2' | 'snowball3';

/** The `english` stop list (`english.stop`): a stop word has no lexeme and keeps its position. */
const STOP_WORDS = new Set(
  (
    'i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself ' +
    'it its itself they them their theirs themselves what which who whom this that these those am is are was were be ' +
    'been being have has had having do does did doing a an the and but if or because as until while of at by for ' +
    'with about against between into through during before after above below to from up down in out on off over ' +
    'under again further then once here there when where why how all any both each few more most other some such no ' +
    'nor not only own same so than too very s t can will just don should now'
  ).split(' '),
);

/** Where Snowball 3 keeps a double consonant Snowball 2 drops: a, e or o, the double, then -ed/-ing (and a plural s). */
const SHORT_DOUBLE = /^[aeo](?:bb|dd|ff|gg|mm|nn|pp|rr|tt)(?:ed|edly|ing|ingly)s?$/;

/** Words whose lexemes tell the stemmings apart, with the whole stop list: sent once per database. */
export const PROBE_WORDS: readonly string[] = [
  ...STOP_WORDS,
  ...['added', 'offing', 'ebbing', 'erred', 'running', 'hopped', 'generously', 'skies', 'dying', 'news', 'evening'],
  ...['happily', 'communication', 'universal', 'arsenal', 'relational', 'nationalism', 'cats', 'yelling'],
  ...['2024', '007'],
];

/** A word of ASCII letters only or digits only, lower-cased. */
export const SIMPLE_WORD = /^(?:[a-z]+|[0-9]+)$/;

/** The lexeme of a SIMPLE_WORD: '' for a stop word; a number is its own lexeme (the `simple` dictionary). */
export function localLexeme(word: string, stemming: Stemming): string {
  if (word.charCodeAt(0) <= 57) return word;
  if (STOP_WORDS.has(word)) return '';
  return stemming === 'snowball3' && SHORT_DOUBLE.test(word) ? word.slice(0, 3) : stem(word);
}

/** The stemming that gives the database's lexeme ('' for a stop word) of every probe word, if one does. */
export function stemmingOf(lexemes: ReadonlyMap<string, string | null | undefined>): Stemming | undefined {
  return (['snowball2', 'snowball3'] as const).find((s) =>
    PROBE_WORDS.every((w) => lexemes.get(w) === localLexeme(w, s)),
  );
}
