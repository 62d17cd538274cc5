// Time cues in a query ("in June", "May 2023"): turns written in that period are more likely what it is about. Only
// explicit calendar mentions count; relative phrases need a reference time the query does not carry.
import { remembered } from '../remembered.js';

export interface TimeWindow {
  /** Inclusive start, ISO 8601. */
  from: string;
  /** Exclusive end, ISO 8601. */
  to: string;
}

/** Month names, January first (lower case). */
export const monthNames = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
/** Month names that are also common words only count when capitalised. */
const ambiguous = new Set(['may', 'march']);

export interface TimeCues {
  months: number[];
  years: number[];
}

export function timeCues(query: string | undefined): TimeCues {
  if (!query) return { months: [], years: [] };
  const found = new Set<number>();
  for (const m of query.matchAll(/\b([A-Za-z]+)\b/g)) {
    const word = m[1]!;
    const i = monthNames.indexOf(word.toLowerCase());
    if (i < 0) continue;
    if (ambiguous.has(word.toLowerCase()) && word[0] !== word[0]!.toUpperCase()) continue;
    found.add(i);
  }
  const years = [...new Set([...query.matchAll(/\b(19\d\d|20\d\d)\b/g)].map((m) => Number(m[1])))];
  return { months: [...found].sort((a, b) => a - b), years };
}

/**
 * Whether a turn written at `iso` falls in a window the cues name. Things are usually told shortly after they
 * happen, so a month also covers the month after it.
 */
export function matchesCues(iso: string, cues: TimeCues): boolean {
  if (cues.months.length === 0 && cues.years.length === 0) return false;
  const months = utcMonthOf(iso);
  const y = Math.floor(months / 12);
  const m = months - 12 * y;
  if (cues.months.length === 0) return cues.years.includes(y);
  for (const cm of cues.months) {
    const sameOrNext = m === cm || m === (cm + 1) % 12;
    if (!sameOrNext) continue;
    if (cues.years.length === 0) return true;
    const eventYear = m === cm ? y : cm === 11 ? y - 1 : y;
    if (cues.years.includes(eventYear)) return true;
  }
  return false;
}

/**
 * A time's UTC year × 12 + month (0–11), NaN when it does not parse; remembered, as every query with a cue reads the
 * same candidates' times again.
 */
const utcMonthOf = remembered((iso) => {
  const d = new Date(iso);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}, 50_000);

/** Words by which a query asks how things are now, not how they were: "where do we live now?", "currently". */
const PRESENT = /\b(now|nowadays|currently|current|these days|at the moment|anymore|still|latest)\b/i;

/** Whether the query asks about the present: then, of what a user said in several sessions, the latest holds. */
export const asksAboutNow = (query: string | undefined): boolean => !!query && PRESENT.test(query);
