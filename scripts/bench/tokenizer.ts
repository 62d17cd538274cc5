// Tokenizer cost on the session's own text in a fresh process: the first pass is what a new process pays, the second
// what a long-running one pays; plain js-tiktoken encode() is measured beside it as the reference.
import { Tiktoken } from 'js-tiktoken/lite';
import { getTokenizer } from '../../src/tokenizer.js';
import { sessionTurns, type Corpus } from './data.js';
import { result, type Result } from './report.js';

/** Turns counted: every distinct text of the corpus plus repeats, as in a long session, at a bounded cost. */
export const TOKENIZER_TURNS = 10_000;

export async function runTokenizer(o: {
  corpus: Corpus;
  turns: number;
  log: (line: string) => void;
}): Promise<Result[]> {
  const texts: string[] = [];
  for (const t of sessionTurns(o.corpus, o.turns)) {
    texts.push(t.content);
    if (t.tool_calls?.length) texts.push(t.tool_calls.map((c) => `${c.name}(${c.arguments})`).join('\n'));
  }
  const tok = await getTokenizer();
  const pass = () => {
    const t0 = performance.now();
    let tokens = 0;
    for (const text of texts) tokens += tok.count(text);
    return { tokens, s: (performance.now() - t0) / 1000 };
  };
  const cold = pass();
  const warm = pass();

  const { default: ranks } = await import('js-tiktoken/ranks/o200k_base');
  const enc = new Tiktoken(ranks);
  const sample = texts;
  const t0 = performance.now();
  let plainTokens = 0;
  for (const text of sample) plainTokens += enc.encode(text).length;
  const plainS = (performance.now() - t0) / 1000;

  o.log(
    `tokenizer ${o.turns.toLocaleString('en-US')}: ${cold.tokens.toLocaleString('en-US')} tokens; cold ${Math.round(cold.tokens / cold.s).toLocaleString('en-US')}/s, warm ${Math.round(warm.tokens / warm.s).toLocaleString('en-US')}/s, plain encode ${Math.round(plainTokens / plainS).toLocaleString('en-US')}/s`,
  );
  return [
    result('product', o.turns, 'tokenizer_tokens_per_s', cold.tokens / cold.s),
    result('product', o.turns, 'tokenizer_warm_tokens_per_s', warm.tokens / warm.s),
    result('product', o.turns, 'tiktoken_encode_tokens_per_s', plainTokens / plainS),
  ];
}
