// Importance strategy of compaction: score each turn, keep the most important that fit, in order.
import type { Tokenizer } from '../../tokenizer.js';

export interface ScoredTurn {
  speaker: string;
  text: string;
  /** Caller-provided importance in 0..1 (defaults to 0.5 at write time). */
  importance: number;
}

export function importanceScore(t: ScoredTurn): number {
  const digits = (t.text.match(/\d+/g) ?? []).length;
  const names = (t.text.match(/\b[A-Z][a-z]{2,}\b/g) ?? []).length;
  const words = t.text.split(/\s+/).length;
  // Content density, not length: short chit-chat scores low, facts with names and numbers score high.
  return t.importance * 2 + Math.min(digits, 5) * 0.3 + Math.min(names, 5) * 0.15 + Math.min(words, 60) / 60;
}

export function keepImportant(turns: ScoredTurn[], maxTokens: number, tok: Tokenizer): string {
  const ranked = turns
    .map((t, i) => ({ t, i, score: importanceScore(t) }))
    .sort((a, b) => b.score - a.score || a.i - b.i);
  const kept = new Set<number>();
  let used = 0;
  for (const r of ranked) {
    const cost = tok.count(`${r.t.speaker}: ${r.t.text}\n`);
    if (used + cost > maxTokens) continue;
    kept.add(r.i);
    used += cost;
  }
  return turns
    .filter((_, i) => kept.has(i))
    .map((t) => `${t.speaker}: ${t.text}`)
    .join('\n');
}
