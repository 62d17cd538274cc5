// Budget planner: splits the budget across envelope sections, packs each section's candidates in its own order, lets
// unused tokens flow on and reports what happened. Costs are exact: an item's line plus the headers it opens.
import { sectionShares } from '../config/tuning.js';
import { sectionNames, type BudgetReport, type SectionName } from '../schemas/context.js';

export interface Item<P = unknown> {
  id: string;
  section: SectionName;
  /** Rendered text of the item inside its section. */
  line: string;
  tokens: number;
  score: number;
  /** Render order within the section (e.g. turn sequence). */
  order: number;
  truncated?: boolean;
  /** Items sharing a group render under one header (e.g. a date), paid by the first item kept. */
  group?: string;
  groupTokens?: number;
  /** Id of a better-ranked item this one nearly repeats: reported as a duplicate, never packed. */
  duplicateOf?: string;
  /** Packed only from what the sections left over (a short form of a candidate that competes in a pool). */
  leftoverOnly?: boolean;
  /** Its place in the joint order of a pool of sections (see `PlanInput.pools`), lower first. */
  rank?: number;
  payload: P;
}

export interface PlanInput {
  budget: number;
  reserve: number;
  /** Tokens of the fixed frame (preamble and reminder). */
  frameTokens: number;
  /** Cost of a section's fences, paid once when its first item is kept. */
  headerTokens: Record<SectionName, number>;
  /** Sections rendered inside one fence share its header: the first item kept in any of them pays it. */
  fences?: Partial<Record<SectionName, string>>;
  /** Share of the available budget per section; defaults to the no-query shares. */
  shares?: Record<SectionName, number>;
  /** Candidates per section, best first. */
  candidates: Record<SectionName, Item[]>;
  /** Sections that take leftover tokens, in order; defaults to `backfillOrder`. */
  backfill?: readonly SectionName[];
  /**
   * Sections packed as one: their candidates in one order (their `rank`), within the sum of their shares, where the
   * first of them comes in the packing and backfill orders. Each kept item is still reported under its own section.
   */
  pools?: readonly (readonly SectionName[])[];
  /** Returns a shortened item that fits `maxTokens`, or undefined when the item cannot be shortened usefully. */
  shrink?: (item: Item, maxTokens: number) => Item | undefined;
}

export interface Plan {
  kept: Item[];
  report: BudgetReport;
}

/**
 * Packing order: what the model needs most is placed first; leftovers flow down this list. It is the order the
 * sections are declared in the API schema, so the budget report lists them in packing order.
 */
export const packingOrder: readonly SectionName[] = sectionNames;

/** Sections that take leftover tokens at the end, in this order: specific evidence before general background. */
export const backfillOrder: readonly SectionName[] = [
  'relevant_history',
  'past_sessions',
  'recent_turns',
  'tool_findings',
  'retrieved_memory',
  'summary',
];

/** Backfill in a tool-using stretch: tool findings first, then the newest turns. */
export const toolBackfillOrder: readonly SectionName[] = [
  'tool_findings',
  'recent_turns',
  'relevant_history',
  'past_sessions',
  'retrieved_memory',
  'summary',
];

const MIN_SHRUNK_TOKENS = 24;

export function plan(input: PlanInput): Plan {
  const available = Math.max(0, input.budget - input.reserve - input.frameTokens);
  const shares = input.shares ?? sectionShares;
  const state = new Map(
    packingOrder.map((s) => [
      s,
      {
        allotted: 0,
        used: 0,
        leftover: 0,
        kept: [] as Item[],
        dropped: new Map<string, { item: Item; reason: 'over_budget' | 'duplicate' }>(),
      },
    ]),
  );
  const keptIds = new Set<string>();
  const openFences = new Set<string>();
  const openGroups = new Set<string>();
  let spent = 0;

  /** Keeps the item (shortened if allowed and needed) when it fits `room`; returns the tokens spent, 0 if not kept. */
  const tryKeep = (section: SectionName, item: Item, room: number): number => {
    const st = state.get(section)!;
    const fence = input.fences?.[section] ?? section;
    const groupKey = item.group === undefined ? undefined : `${fence}\u0000${item.group}`;
    const header =
      (openFences.has(fence) ? 0 : input.headerTokens[section]) +
      (groupKey === undefined || openGroups.has(groupKey) ? 0 : (item.groupTokens ?? 0));
    let chosen: Item | undefined = item;
    if (item.tokens + header > room) {
      const shrinkTo = room - header;
      chosen = shrinkTo >= MIN_SHRUNK_TOKENS && input.shrink ? input.shrink(item, shrinkTo) : undefined;
      if (!chosen || chosen.tokens + header > room) return 0;
    }
    st.kept.push(chosen);
    st.dropped.delete(item.id);
    keptIds.add(item.id);
    openFences.add(fence);
    if (groupKey !== undefined) openGroups.add(groupKey);
    return chosen.tokens + header;
  };

  // A section packs with its pool where the pool's first section comes; the others of the pool are skipped there.
  const poolOf = (section: SectionName) => input.pools?.find((p) => p.includes(section)) ?? [section];
  const leads = (section: SectionName) => poolOf(section)[0] === section;
  const byRank = <T extends { item: Item }>(xs: T[], pool: readonly SectionName[]) =>
    pool.length > 1 ? xs.sort((a, b) => (a.item.rank ?? 0) - (b.item.rank ?? 0)) : xs;
  for (const section of packingOrder) state.get(section)!.allotted = Math.floor(available * shares[section]);

  // First pass: each section (or pool) packs within its own share.
  for (const section of packingOrder) {
    if (!leads(section)) continue;
    const pool = poolOf(section);
    let room = Math.min(
      pool.reduce((sum, s) => sum + state.get(s)!.allotted, 0),
      available - spent,
    );
    const candidates = byRank(
      pool.flatMap((s) => input.candidates[s].map((item) => ({ item, section: s }))),
      pool,
    );
    for (const { item, section: own } of candidates) {
      const st = state.get(own)!;
      if (keptIds.has(item.id) || item.duplicateOf !== undefined) {
        st.dropped.set(item.id, { item, reason: 'duplicate' });
        continue;
      }
      const cost = item.leftoverOnly ? 0 : tryKeep(own, item, room);
      if (cost === 0) st.dropped.set(item.id, { item, reason: 'over_budget' });
      room -= cost;
      st.used += cost;
      spent += cost;
    }
  }

  // Whatever is left goes to the sections that still had candidates waiting, best candidates first.
  for (const section of input.backfill ?? backfillOrder) {
    if (!leads(section)) continue;
    const pool = poolOf(section);
    const dropped = pool.flatMap((s) => [...state.get(s)!.dropped.values()].map((d) => ({ ...d, section: s })));
    const waiting = byRank(dropped, pool);
    for (const { item, reason, section: own } of waiting) {
      if (reason !== 'over_budget' || keptIds.has(item.id)) continue;
      const st = state.get(own)!;
      const cost = tryKeep(own, item, available - spent);
      st.used += cost;
      st.leftover += cost;
      spent += cost;
    }
  }

  const kept = packingOrder.flatMap((s) => state.get(s)!.kept);
  const report: BudgetReport = {
    budget_tokens: input.budget,
    reserve_tokens: input.reserve,
    frame_tokens: input.frameTokens,
    used_tokens: input.frameTokens + spent,
    sections: packingOrder.map((section) => {
      const st = state.get(section)!;
      const dropped = [...st.dropped.values()];
      const overBudget = dropped.filter((d) => d.reason === 'over_budget').length;
      const duplicates = dropped.length - overBudget;
      const shrunk = st.kept.filter((k) => k.truncated).length;
      return {
        section,
        allotted: st.allotted,
        used: st.used,
        kept: st.kept.length,
        dropped: dropped.length,
        note: explain(
          section,
          input.candidates[section].length,
          st.kept.length,
          overBudget,
          duplicates,
          shrunk,
          st.leftover,
        ),
      };
    }),
    dropped: packingOrder
      .flatMap((section) =>
        [...state.get(section)!.dropped.values()].map(({ item, reason }) => ({
          id: item.id,
          section,
          reason,
          score: round(item.score),
          tokens: item.tokens,
        })),
      )
      .sort((a, b) => b.score - a.score)
      .slice(0, 50),
  };
  return { kept, report };
}

function explain(
  section: SectionName,
  candidates: number,
  kept: number,
  overBudget: number,
  duplicates: number,
  shrunk: number,
  leftover: number,
) {
  if (candidates === 0) return 'no candidates; its share flowed to the sections that had more';
  const parts = [`kept ${kept} of ${candidates}`];
  if (leftover > 0) parts.push(`${leftover} tokens from shares other sections did not use`);
  if (shrunk > 0) parts.push(`${shrunk} shortened to fit`);
  if (overBudget > 0) parts.push(`${overBudget} did not fit the budget`);
  if (duplicates > 0) parts.push(`${duplicates} already shown or nearly repeated by a better-ranked item`);
  return parts.join('; ');
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Removes the last kept item of the lowest-priority section that has one (used when the final text overshoots). */
export function dropLast(p: Plan): Item | undefined {
  for (const section of [...packingOrder].reverse()) {
    if (section === 'task_anchor') continue;
    for (let i = p.kept.length - 1; i >= 0; i--) {
      const item = p.kept[i]!;
      if (item.section !== section) continue;
      p.kept.splice(i, 1);
      const row = p.report.sections.find((s) => s.section === section)!;
      row.kept -= 1;
      row.dropped += 1;
      row.used -= item.tokens;
      p.report.used_tokens -= item.tokens;
      p.report.dropped.unshift({
        id: item.id,
        section,
        reason: 'final_fit',
        score: round(item.score),
        tokens: item.tokens,
      });
      return item;
    }
  }
  return undefined;
}

/**
 * Replaces a kept item with another rendering of the same thing (`next`), or removes it (`next` undefined, reported
 * with `reason`), keeping the report's totals right. Returns the token change.
 */
export function replaceKept(
  p: Plan,
  id: string,
  next: Item | undefined,
  reason: 'duplicate' | 'final_fit' = 'duplicate',
): number {
  const i = p.kept.findIndex((k) => k.id === id);
  if (i < 0) return 0;
  const item = p.kept[i]!;
  const row = p.report.sections.find((s) => s.section === item.section)!;
  const delta = (next?.tokens ?? 0) - item.tokens;
  if (next) p.kept[i] = next;
  else {
    p.kept.splice(i, 1);
    row.kept -= 1;
    row.dropped += 1;
    p.report.dropped.unshift({
      id: item.id,
      section: item.section,
      reason,
      score: round(item.score),
      tokens: item.tokens,
    });
  }
  row.used += delta;
  p.report.used_tokens += delta;
  return delta;
}
