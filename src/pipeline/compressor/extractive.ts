// Extractive summary: picks the sentences that carry the most distinctive content (names, numbers, terms that
// recur across the excerpt), in their original order. Deterministic and offline: the fallback when no LLM is set.
import type { Tokenizer } from '../../tokenizer.js';
import { sentences, terms } from '../text.js';

export interface Utterance {
  speaker: string;
  text: string;
}

export function summarizeExtractive(utterances: Utterance[], maxTokens: number, tok: Tokenizer): string {
  const candidates = utterances.flatMap((u, turnIndex) =>
    sentences(u.text).map((s, i) => ({ speaker: u.speaker, text: s, turnIndex, order: i })),
  );
  if (candidates.length === 0 || maxTokens <= 0) return '';
  const df = new Map<string, number>();
  for (const c of candidates) for (const t of new Set(terms(c.text))) df.set(t, (df.get(t) ?? 0) + 1);
  const n = candidates.length;
  const scored = candidates.map((c, index) => {
    const ts = terms(c.text);
    // Terms that recur carry the topic; very common ones carry nothing (idf-like damping).
    let score = 0;
    for (const t of new Set(ts)) {
      const f = df.get(t) ?? 1;
      score += Math.log(1 + f) * Math.log(1 + n / f);
    }
    score /= Math.sqrt(ts.length + 1);
    if (/\d/.test(c.text)) score += 0.6;
    if (/\b[A-Z][a-z]+\b/.test(c.text.slice(1))) score += 0.3;
    if (c.text.endsWith('?')) score -= 0.2;
    return { ...c, index, score };
  });
  const chosen = new Set<number>();
  let used = 0;
  for (const c of [...scored].sort((a, b) => b.score - a.score || a.index - b.index)) {
    const cost = tok.count(`${c.speaker}: ${c.text}\n`);
    if (used + cost > maxTokens) continue;
    chosen.add(c.index);
    used += cost;
  }
  const lines: string[] = [];
  let last = -1;
  for (const c of scored) {
    if (!chosen.has(c.index)) continue;
    if (c.turnIndex === last) lines[lines.length - 1] += ` ${c.text}`;
    else lines.push(`${c.speaker}: ${c.text}`);
    last = c.turnIndex;
  }
  let out = lines.join('\n');
  while (out && tok.count(out) > maxTokens) out = out.slice(0, out.lastIndexOf('\n') > 0 ? out.lastIndexOf('\n') : 0);
  return out;
}
