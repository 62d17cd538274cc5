// Token counting with o200k_base (gpt-tokenizer, ADR 0010), loaded lazily once per process or isolate. Counts are
// taken at write time and stored, so the query path only counts what it renders.
import type { GptEncoding } from 'gpt-tokenizer/GptEncoding';

export interface Tokenizer {
  count(text: string): number;
  /** The longest prefix of `text` that fits in `maxTokens`, cut on a token boundary. */
  truncate(text: string, maxTokens: number): string;
  /** The longest suffix of `text` that fits in `maxTokens`, cut on a token boundary. */
  tail(text: string, maxTokens: number): string;
  /** The text's tokens, for callers that cut one text several ways (encode once, then `head`/`tailOf`). */
  encode(text: string): number[];
  /** The first `n` of `tokens` as text, without a character cut in half. */
  head(tokens: readonly number[], n: number): string;
  /** The last `n` of `tokens` as text, without a character cut in half. */
  tailOf(tokens: readonly number[], n: number): string;
}

/**
 * Whole lines remembered: a query counts each candidate's line, and the same turns are candidates again on the next
 * query of the session. Only lines up to this length (longer text is counted each time).
 */
const LINE_CACHE_MAX = 20_000;
const LINE_MAX_CHARS = 2_000;
/** A long single line is counted in its parts when at least this share of them are remembered lines (see `count`). */
const KNOWN_PARTS = 0.75;
/** Long single-line texts remembered: at most this many characters in all, each at most `LONG_MAX_CHARS`. */
const LONG_CACHE_CHARS = 4_000_000;
const LONG_MAX_CHARS = 100_000;
/** Where a long text is cut for counting: after a newline, before anything but a blank or a slash (see `count`). */
const LINE_STARTS = /(?<=\n)(?=[^\s/])/u;

/**
 * One pre-token piece (a run of letters, or of punctuation) longer than this is counted and encoded in parts: the
 * encoder's time grows with the square of a piece's length, and no word of any language is this long.
 */
const PIECE_MAX = 256;
const LONG_PIECE = new RegExp(`[\\p{L}\\p{M}]{${PIECE_MAX + 1},}|[^\\s\\p{L}\\p{N}]{${PIECE_MAX + 1},}`, 'gu');

/** `text` cut inside pieces longer than PIECE_MAX (never inside a surrogate pair); undefined when it has none. */
export function cutLongPieces(text: string): string[] | undefined {
  if (text.length <= PIECE_MAX) return undefined;
  const out: string[] = [];
  let last = 0;
  for (const m of text.matchAll(LONG_PIECE)) {
    const end = m.index + m[0].length;
    let at = m.index;
    while (end - at > PIECE_MAX) {
      let cut = at + PIECE_MAX;
      if (/[\uDC00-\uDFFF]/.test(text[cut]!)) cut += 1;
      out.push(text.slice(last, cut));
      last = at = cut;
    }
  }
  if (out.length === 0) return undefined;
  out.push(text.slice(last));
  return out;
}

/**
 * Stored text is data: a special-token string such as `<|endoftext|>` in a turn is counted as the plain text a
 * provider would see, never as a control token and never as an error.
 */
const asText = { disallowedSpecial: new Set<string>() };

let loading: Promise<Tokenizer> | undefined;

export function getTokenizer(): Promise<Tokenizer> {
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then(({ default: enc }) => tokenizerOf(enc as GptEncoding));
  return loading;
}

/** What `decoderOf` reads of the encoding: each token as its text, or as its bytes when they are not whole characters. */
interface TokenPieces {
  bytePairEncodingCoreProcessor: { decodeNativeGenerator(tokens: Iterable<number>): Iterable<Uint8Array | string> };
}

/**
 * Tokens to text, each call on its own: the library's `decode` runs every call through one shared streaming UTF-8
 * decoder, so the bytes of a character cut in half by one call came out at the start of a later call's text. Here
 * such bytes decode to U+FFFD within the call that cut them.
 */
function decoderOf(enc: GptEncoding): (tokens: readonly number[]) => string {
  const pieces = (enc as unknown as TokenPieces).bytePairEncodingCoreProcessor;
  const utf8 = new TextDecoder();
  return (tokens) => {
    let text = '';
    let bytes: number[] = [];
    for (const piece of pieces.decodeNativeGenerator(tokens)) {
      if (typeof piece !== 'string') {
        for (const b of piece) bytes.push(b);
        continue;
      }
      if (bytes.length > 0) text += utf8.decode(Uint8Array.from(bytes));
      bytes = [];
      text += piece;
    }
    return bytes.length > 0 ? text + utf8.decode(Uint8Array.from(bytes)) : text;
  };
}

/**
 * One part of a text cut after each ", " (`a,` ` b,` … ` z`), from the piece between two cuts: a text's tokens are the
 * sum of its parts' tokens, as no o200k pre-token piece holds a comma and the blank after it (a punctuation piece
 * stops at blanks, a blank piece holds only blanks).
 */
export const commaPart = (piece: string, first: boolean, comma: boolean): string =>
  `${first ? '' : ' '}${piece}${comma ? ',' : ''}`;

function tokenizerOf(enc: GptEncoding): Tokenizer {
  const encode = (text: string): number[] => {
    const parts = cutLongPieces(text);
    return parts ? parts.flatMap((p) => enc.encode(p, asText)) : enc.encode(text, asText);
  };
  const countTokens = (text: string): number => {
    const parts = cutLongPieces(text);
    return parts ? parts.reduce((n, p) => n + enc.countTokens(p, asText), 0) : enc.countTokens(text, asText);
  };
  const decode = decoderOf(enc);
  // A cut inside a multi-byte character decodes to U+FFFD; drop it rather than emit a broken character.
  const head = (tokens: readonly number[], n: number) => {
    if (n <= 0) return '';
    let cut = decode(tokens.slice(0, n));
    while (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
    return cut;
  };
  const tailOf = (tokens: readonly number[], n: number) => {
    if (n <= 0) return '';
    let cut = decode(tokens.slice(Math.max(0, tokens.length - n)));
    while (cut.startsWith('\uFFFD')) cut = cut.slice(1);
    return cut;
  };
  const lines = new Map<string, number>();
  const long = new Map<string, number>();
  let longChars = 0;
  // A long single line counts as its parts cut after each ", " (see `commaPart`). A list of values (the tool findings'
  // digest) is new text on every query, but its parts are mostly lines counted before (`digestPrefixTokens` counts
  // them); any other line is counted at once, which is faster than part by part.
  const countLongLine = (text: string): number => {
    const pieces = text.split(', ');
    if (pieces.length === 1) return countTokens(text);
    const partOf = (i: number) => commaPart(pieces[i]!, i === 0, i < pieces.length - 1);
    const known: (number | undefined)[] = pieces.map((_, i) => lines.get(partOf(i)));
    if (known.filter((m) => m !== undefined).length < KNOWN_PARTS * pieces.length) return countTokens(text);
    let n = 0;
    for (let i = 0; i < pieces.length; i++) n += known[i] ?? count(partOf(i));
    return n;
  };
  const count = (text: string): number => {
    if (text.length === 0) return 0;
    if (text.length > LINE_MAX_CHARS) {
      // A long text of many lines (a rendered context, a section) is mostly lines counted before: count it line by
      // line, each through the memo. Exact: o200k's pre-tokenizer never lets a piece run from a newline into what
      // follows unless that is a blank or a slash (a punctuation piece takes newlines and slashes after it), so the
      // text's tokens are its chunks' tokens when it is cut only there. A long single line (a tool result read by
      // every query of its session) is remembered whole, within a bound of its own (and see `countLongLine`).
      const chunks = text.split(LINE_STARTS);
      if (chunks.length > 1) {
        let n = 0;
        for (const chunk of chunks) n += count(chunk);
        return n;
      }
      let n = long.get(text);
      if (n === undefined) {
        n = countLongLine(text);
        if (text.length <= LONG_MAX_CHARS) {
          longChars += text.length;
          if (longChars > LONG_CACHE_CHARS) {
            long.clear();
            longChars = text.length;
          }
          long.set(text, n);
        }
      }
      return n;
    }
    let n = lines.get(text);
    if (n === undefined) {
      n = countTokens(text);
      if (lines.size >= LINE_CACHE_MAX) lines.clear();
      lines.set(text, n);
    }
    return n;
  };
  return {
    count,
    truncate: (text, maxTokens) => {
      if (maxTokens <= 0) return '';
      const tokens = encode(text);
      return tokens.length <= maxTokens ? text : head(tokens, maxTokens);
    },
    tail: (text, maxTokens) => {
      if (maxTokens <= 0) return '';
      const tokens = encode(text);
      return tokens.length <= maxTokens ? text : tailOf(tokens, maxTokens);
    },
    encode,
    head,
    tailOf,
  };
}
