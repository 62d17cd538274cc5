// How much a turn recounts, from its form alone (ADR 0013): a first-person account of something done or planned and
// length raise it, a question lowers it. It tells apart a named person's turns that share only the name with a query.
import { remembered } from '../remembered.js';
import { asksQuestion } from '../text.js';

/** A first-person subject with a verb in the past (or present perfect), or an expression placing it in time. */
const recounts = new RegExp(
  [
    String.raw`\b(i|we)('ve| have| had)?\s+(just\s+|finally\s+|recently\s+|also\s+|already\s+|actually\s+)?` +
      String.raw`(went|got|took|made|did|had|saw|started|tried|joined|visited|bought|found|signed|ran|read|painted|finished|won|met|began|learned|played|spent|been|gone|taken|done|seen|begun|left|came|gave|wrote|built|moved|lost|adopted|\w+ed)\b`,
    String.raw`\b(yesterday|ago|recently|last (week|weekend|month|year|night|time|summer|winter|spring|fall)|(this|next) (morning|week|weekend|month|year))\b`,
  ].join('|'),
);

/** 0..1: half for recounting, up to half by length (all of it from 200 characters), 0.15 off for a question. */
export function informativeness(text: string): number {
  const lower = text.toLowerCase();
  const score =
    (recounts.test(lower) ? 0.5 : 0) + 0.5 * Math.min(1, text.length / 200) - (asksQuestion(text) ? 0.15 : 0);
  return Math.max(0, Math.min(1, score));
}

/** `informativeness`, measured once per process for texts read again and again by queries (bounded). */
export const informativenessOf = remembered(informativeness, 50_000);
