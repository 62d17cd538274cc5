// The one escaper for outside text reaching the rendered context (ADR 0003): whatever reads as a `<data>` fence tag,
// look-alikes and hidden characters included, gets `&lt;` for its bracket; other text is returned byte for byte.

/** Characters read as `<`, after NFKD with combining marks removed (which covers `＜`, `﹤`, `≮`, `〈`, `︿`). */
const OPENERS = '<\u3008\u27E8\u2039\u276E\u276C\u2770\u29FC\u300A\u27EA\u2991\u02C2\u1438\u16B2';
/** Every character that folds to an opener (openers and their compatibility forms): only these are looked at. */
const MAY_OPEN = new RegExp(`[${OPENERS}\u226E\u2329\uFE3D\uFE3F\uFE64\uFF1C]`, 'g');
/** Letters read as the Latin letters of `data`, beyond what NFKD and lower-casing fold. */
const LETTERS: Record<string, string> = {
  '\u0430': 'a',
  '\u0251': 'a',
  '\u03B1': 'a',
  '\u1D00': 'a',
  '\u0501': 'd',
  '\u1D05': 'd',
  '\u0442': 't',
  '\u03C4': 't',
  '\u1D1B': 't',
};
/** Characters read as `/` (or its mirror) between a bracket and the name. */
const SLASHES = '/\\\u2215\u2044\u29F8\u29F9\u2571\u2572\u27CB\u27CD';
const INVISIBLE = /[\p{M}\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;
/** Blanks within a line (line breaks end a tag). */
const BLANK = /^[^\S\n\r\v\f\u2028\u2029]+$/;
const NAME = 'data';

/** A code point as a reader sees it: compatibility forms and look-alikes folded, invisible parts dropped. */
function fold(ch: string): string {
  if (ch < '\u0080') return ch === '\\' ? '/' : ch.toLowerCase();
  const plain = ch.normalize('NFKD').replace(INVISIBLE, '').toLowerCase();
  let out = '';
  for (const c of plain) out += OPENERS.includes(c) ? '<' : SLASHES.includes(c) ? '/' : (LETTERS[c] ?? c);
  return out;
}

/** A line break with the blanks around it. */
const LINE_BREAK = /[^\S\n\r\u2028\u2029]*(?:\r\n|[\n\r\v\f\u0085\u2028\u2029])[\s\u0085]*/g;

/**
 * `text` with every fence marker neutralised: a bracket that, read past invisible characters, spaces and slashes,
 * starts the word `data` becomes `&lt;`. With `oneLine`, line breaks (and the blanks around them) become one space,
 * so a name or an argument cannot start a line of its own. Idempotent; unchanged when there is nothing to do.
 */
export function escapeFence(text: string, oneLine = false): string {
  const flat = oneLine ? text.replace(LINE_BREAK, ' ') : text;
  let out = '';
  let last = 0;
  for (const m of flat.matchAll(MAY_OPEN)) {
    if (!opensFence(flat, m.index + 1)) continue;
    out += `${flat.slice(last, m.index)}&lt;`;
    last = m.index + 1;
  }
  return last === 0 ? flat : out + flat.slice(last);
}

/** Whether the text from `start` reads as `data` (after optional blanks and slashes) to someone reading a tag. */
function opensFence(text: string, start: number): boolean {
  let word = '';
  for (let j = start; j < text.length; ) {
    const ch = String.fromCodePoint(text.codePointAt(j)!);
    j += ch.length;
    const f = fold(ch);
    if (f === '') continue;
    if (word === '' && (f === '/' || BLANK.test(f))) continue;
    word += f;
    if (word.startsWith(NAME)) return true;
    if (!NAME.startsWith(word)) return false;
  }
  return false;
}

/** A value placed in a fence's attribute (a session id): escaped as one line, and unable to end the attribute. */
export function fenceAttribute(value: string): string {
  return escapeFence(value, true).replace(/"/g, '&quot;');
}
