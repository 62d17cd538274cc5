// Token counting with OpenAI's o200k_base encoding. The ranks (a few MB) load lazily, once per process or isolate;
// counts are taken at write time and stored, so the query path only counts what it renders.
import { Tiktoken } from 'js-tiktoken/lite';

export interface Tokenizer {
  count(text: string): number;
  /** The longest prefix of `text` that fits in `maxTokens`, cut on a token boundary. */
  truncate(text: string, maxTokens: number): string;
  /** The longest suffix of `text` that fits in `maxTokens`, cut on a token boundary. */
  tail(text: string, maxTokens: number): string;
}

let loading: Promise<Tokenizer> | undefined;

export function getTokenizer(): Promise<Tokenizer> {
  loading ??= import('js-tiktoken/ranks/o200k_base').then(({ default: ranks }) => {
    const enc = new Tiktoken(ranks);
    return {
      count: (text) => (text.length === 0 ? 0 : enc.encode(text).length),
      truncate: (text, maxTokens) => {
        if (maxTokens <= 0) return '';
        const tokens = enc.encode(text);
        if (tokens.length <= maxTokens) return text;
        let cut = enc.decode(tokens.slice(0, maxTokens));
        // A cut inside a multi-byte character decodes to U+FFFD; drop it rather than emit a broken character.
        while (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
        return cut;
      },
      tail: (text, maxTokens) => {
        if (maxTokens <= 0) return '';
        const tokens = enc.encode(text);
        if (tokens.length <= maxTokens) return text;
        let cut = enc.decode(tokens.slice(tokens.length - maxTokens));
        while (cut.startsWith('\uFFFD')) cut = cut.slice(1);
        return cut;
      },
    } satisfies Tokenizer;
  });
  return loading;
}
