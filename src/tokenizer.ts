// Token counting with OpenAI's o200k_base encoding. The ranks (a few MB) load lazily, once per process or isolate;
// counts are taken at write time and stored, so the query path only counts what it renders.
import { Tiktoken } from 'js-tiktoken/lite';

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

/** Distinct pre-token pieces remembered; words repeat, so a small table answers nearly every lookup. */
const PIECE_CACHE_MAX = 100_000;
/**
 * Whole lines remembered: a query counts each candidate's line, and the same turns are candidates again on the next
 * query of the session. Only lines up to this length (longer text is split into pieces each time).
 */
const LINE_CACHE_MAX = 20_000;
const LINE_MAX_CHARS = 2_000;

let loading: Promise<Tokenizer> | undefined;

export function getTokenizer(): Promise<Tokenizer> {
  loading ??= import('js-tiktoken/ranks/o200k_base').then(({ default: ranks }) => {
    const enc = new Tiktoken(ranks);
    const count = pieceCounter(enc, ranks.pat_str, Object.keys(ranks.special_tokens));
    // A cut inside a multi-byte character decodes to U+FFFD; drop it rather than emit a broken character.
    const head = (tokens: readonly number[], n: number) => {
      if (n <= 0) return '';
      let cut = enc.decode(tokens.slice(0, n));
      while (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
      return cut;
    };
    const tailOf = (tokens: readonly number[], n: number) => {
      if (n <= 0) return '';
      let cut = enc.decode(tokens.slice(Math.max(0, tokens.length - n)));
      while (cut.startsWith('\uFFFD')) cut = cut.slice(1);
      return cut;
    };
    return {
      count,
      truncate: (text, maxTokens) => {
        if (maxTokens <= 0) return '';
        const tokens = enc.encode(text);
        return tokens.length <= maxTokens ? text : head(tokens, maxTokens);
      },
      tail: (text, maxTokens) => {
        if (maxTokens <= 0) return '';
        const tokens = enc.encode(text);
        return tokens.length <= maxTokens ? text : tailOf(tokens, maxTokens);
      },
      encode: (text) => enc.encode(text),
      head,
      tailOf,
    } satisfies Tokenizer;
  });
  return loading;
}

/**
 * Counting is the hot path of every query (each candidate line and the final text are counted), and the encoder
 * byte-pair-merges every piece from scratch. BPE never merges across the encoding's pre-token pieces, so the count of
 * a text is the sum of its pieces' counts; pieces (mostly words with their leading space) repeat, so each is encoded
 * once and remembered. Text holding a special-token string goes to the encoder as before.
 */
function pieceCounter(enc: Tiktoken, pattern: string, specials: string[]): (text: string) => number {
  const pieces = new RegExp(pattern, 'gu');
  const memo = new Map<string, number>();
  const lines = new Map<string, number>();
  const countPieces = (text: string) => {
    if (text.includes('<|') && specials.some((s) => text.includes(s))) return enc.encode(text).length;
    let n = 0;
    pieces.lastIndex = 0;
    for (let m = pieces.exec(text); m !== null; m = pieces.exec(text)) {
      const piece = m[0];
      let c = memo.get(piece);
      if (c === undefined) {
        c = pieceTokens(enc, piece);
        if (memo.size >= PIECE_CACHE_MAX) memo.clear();
        memo.set(piece, c);
      }
      n += c;
    }
    return n;
  };
  return (text) => {
    if (text.length === 0) return 0;
    if (text.length > LINE_MAX_CHARS) return countPieces(text);
    let n = lines.get(text);
    if (n === undefined) {
      n = countPieces(text);
      if (lines.size >= LINE_CACHE_MAX) lines.clear();
      lines.set(text, n);
    }
    return n;
  };
}

/** Tokens of one pre-token piece: the encoder's own merge over the piece's bytes (no re-splitting). */
function pieceTokens(enc: Tiktoken, piece: string): number {
  const ranks = (enc as unknown as { rankMap?: Map<string, number> }).rankMap;
  if (!ranks) return enc.encode(piece).length;
  const bytes = new TextEncoder().encode(piece);
  if (ranks.has(bytes.join(','))) return 1;
  // Lowest-rank-first merging of adjacent parts, exactly as tiktoken's byte-pair merge; returns the part count.
  const bounds = Array.from({ length: bytes.length + 1 }, (_, i) => i);
  const rankOf = (i: number) => {
    const end = bounds[i + 2];
    return end === undefined ? undefined : ranks.get(bytes.subarray(bounds[i]!, end).join(','));
  };
  while (bounds.length > 2) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i < bounds.length - 2; i++) {
      const r = rankOf(i);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0) break;
    bounds.splice(best + 1, 1);
  }
  return bounds.length - 1;
}
