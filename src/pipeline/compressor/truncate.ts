// Truncation strategy: keep the head and the tail, mark what was cut.
import type { Tokenizer } from '../../tokenizer.js';

const HEAD_SHARE = 0.6;

export function truncateHeadTail(text: string, maxTokens: number, tok: Tokenizer): string {
  const total = tok.count(text);
  if (total <= maxTokens) return text;
  // Encoded once; every attempt below cuts the same tokens.
  const tokens = tok.encode(text);
  for (let room = maxTokens; room > 0; room--) {
    const marker = ` […${total - room} tokens cut…] `;
    const body = room - tok.count(marker);
    if (body <= 0) return tok.head(tokens, maxTokens);
    const headTokens = Math.ceil(body * HEAD_SHARE);
    const out = tok.head(tokens, headTokens) + marker + tok.tailOf(tokens, body - headTokens);
    // Joining can re-merge tokens across the seams; shrink until the joined text really fits.
    if (tok.count(out) <= maxTokens) return out;
  }
  return '';
}
