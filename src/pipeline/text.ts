// Small text helpers shared by retrieval and compression.

const STOP_WORDS = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have he her hers him his how i if in ' +
    'into is it its just me my no not of on or our ours she so than that the their them then there these they this ' +
    'to too up us was we were what when where which who whom why will with would you your yours am any all also ' +
    'about after again because before being both each few more most other over same should some such through under ' +
    'until very while'
  ).split(' '),
);

/** Lower-cased word and number terms, without stop words. */
export function terms(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !STOP_WORDS.has(w));
}

/** An OR of the query's content words as a tsquery string, or undefined when nothing searchable remains. */
export function toTsQuery(query: string | undefined): string | undefined {
  if (!query) return undefined;
  const unique = [...new Set(terms(query))].slice(0, 32);
  return unique.length > 0 ? unique.join(' | ') : undefined;
}

/** The text ends in a question mark, trailing white space aside (`text.trimEnd().endsWith('?')`, without a copy). */
export function asksQuestion(text: string): boolean {
  let i = text.length - 1;
  while (i >= 0 && isWhiteSpace(text.charCodeAt(i))) i--;
  return text.charCodeAt(i) === 63; // ?
}

/**
 * The UTF-16 code units `\s` and `trimEnd` read as white space, as a table: one load for every code unit, so the rare
 * ones (a no-break space, an ideographic space) take no path compiled code has not seen.
 */
const WHITE_SPACE = (() => {
  const table = new Uint8Array(0x10000);
  for (const c of [9, 10, 11, 12, 13, 32, 160, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]) table[c] = 1;
  for (let c = 0x2000; c <= 0x200a; c++) table[c] = 1;
  return table;
})();

/** Whether a UTF-16 code unit is white space as `\s` and `trimEnd` read it, without a one-character string. */
const isWhiteSpace = (c: number): boolean => WHITE_SPACE[c] === 1;

/** Splits text into sentences, keeping their punctuation. */
export function sentences(text: string): string[] {
  return (text.match(/[^.!?\n]+(?:[.!?]+|$)/g) ?? [text]).map((s) => s.trim()).filter((s) => s.length > 0);
}

/** A stable short hash (FNV-1a, hex) for cache keys and request fingerprints; not for security. */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
