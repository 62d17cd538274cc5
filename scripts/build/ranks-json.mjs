// gpt-tokenizer's o200k ranks are a 200k-element array literal. The server bundle carries the same array as one JSON
// string instead, which JSON.parse reads faster and in less memory than V8 compiles the literal (ADR 0022).
import { pathToFileURL } from 'node:url';

/** The module at `file` (a gpt-tokenizer ranks module) as `export default JSON.parse("…")` of the same array. */
export async function ranksAsJsonModule(file) {
  const { default: ranks } = await import(pathToFileURL(file).href);
  const json = JSON.stringify(ranks);
  // Entry for entry the same after the round trip: strings, and byte arrays for tokens that are not UTF-8.
  const back = JSON.parse(json);
  for (let i = 0; i < Math.max(ranks.length, back.length); i++)
    if (!(i in ranks) || String(ranks[i]) !== String(back[i])) throw new Error(`${file}: rank ${i} differs`);
  return `export default JSON.parse(${JSON.stringify(json)});`;
}
