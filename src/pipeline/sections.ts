// Section candidates: what each of the seven envelope sections offers the planner, best first, built from what was
// retrieved (structural turns, ranked history, memories, tool findings); and each section's share of the budget.
import { querySectionShares, sectionShares, toolSectionShares } from '../config/tuning.js';
import { sectionNames, type QueryContextBody, type SectionName } from '../schemas/context.js';
import type { Tokenizer } from '../tokenizer.js';
import { dateHeader, dateText, pastSessionFence, pastSessionGroup } from './assembler.js';
import { escapeFence } from './fence.js';
import { item, turnItem, type Payload } from './items.js';
import type { Item } from './planner.js';
import { withinReach, type RankedTurn } from './retriever/relevant.js';
import { askingTurn } from './retriever/retrieve.js';
import { positionOf, type MemoryRow, type StructuralCandidates, type TurnRow } from './retriever/types.js';
import type { EarlierSessions } from './retriever/user-history.js';
import { callsShownWithResults, findingsSection, toolShares, type ToolFindings } from './tool-findings.js';

const ANCHOR_MAX_TOKENS = 80;
const REMINDER_MAX_TOKENS = 60;

/** What the sections read of the session row. */
export interface SectionSession {
  id: string;
  metadata: Record<string, unknown>;
  summary: string | null;
  window_version: number | null;
}

export interface SectionInput {
  session: SectionSession;
  /** The query as the caller sent it. */
  query: string | undefined;
  budgetTokens: number;
  structural: StructuralCandidates;
  ranked: readonly RankedTurn[];
  memories: readonly MemoryRow[];
  tools: ToolFindings;
  /** What the user's other sessions bring besides their ranked turns, when the query recalls the user's history. */
  past?: EarlierSessions | undefined;
  tok: Tokenizer;
}

/** The session's declared task (`metadata.task`), if it has one. */
export function declaredTask(session: Pick<SectionSession, 'metadata'>): string | undefined {
  return typeof session.metadata.task === 'string' ? session.metadata.task : undefined;
}

/** Each section's candidates, best first. */
export function sectionCandidates(input: SectionInput): Record<SectionName, Item<Payload>[]> {
  const { session, structural, ranked, memories, tools, past, tok } = input;
  const turnItem = turnItems(tok);
  const pastItem = pastItems(tok);
  // With a query, the query is the task: the opening turn only appears if it is relevant or recent. Without one,
  // the opening request anchors the context and is repeated at the end.
  const taskText = declaredTask(session);
  const asking = askingTurn(structural, input.query);
  const anchorText = taskText ?? (input.query ? undefined : structural.first?.content);
  const conversational = (t: TurnRow) => t.role === 'user' || t.role === 'assistant';
  // The session's own turns and its user's other sessions' are ranked together and packed as one (their rank).
  const reach = withinReach(
    ranked.filter((r) => conversational(r.candidate.turn) && !callsShownWithResults(r.candidate.turn, tools.list)),
    input.budgetTokens,
  ).map((r, rank) => ({ ...r, rank }));
  const own = (t: TurnRow) => t.session_id === undefined || t.session_id === session.id;
  // Only learned memories are scored by their source turns: the table is built when the first one asks.
  let scores: ReturnType<typeof turnScores> | undefined;
  const scoreOf = (s: string, sequence: number) => (scores ??= turnScores(session.id, ranked))(s, sequence);
  const pool = withBlockCosts(
    reach.map((r) => ({
      ...(own(r.candidate.turn)
        ? turnItem('relevant_history', r.candidate.turn, r.score, r.duplicateOf)
        : pastItem.turn(r.candidate.turn, r.score, r.duplicateOf)),
      rank: r.rank,
    })),
  );
  return {
    task_anchor: anchorText
      ? [
          item(tok, 'task_anchor', structural.first?.id ?? 'task', 1, 0, {
            content: escapeFence(tok.truncate(anchorText, ANCHOR_MAX_TOKENS)),
            lineFor: (c) => c,
            source: typeof session.metadata.task === 'string' ? 'session.metadata.task' : 'first user turn',
          }),
        ]
      : [],
    hard_constraints: [
      // Unfenced, so they must not open a fence either; the envelope keeps their text as written.
      ...structural.system.map((t) =>
        item(tok, 'hard_constraints', t.id, 1, t.sequence, {
          content: t.content,
          lineFor: (c) => `- ${escapeFence(c)}`,
          turn: t,
          source: 'system turn',
        }),
      ),
      // A learned constraint is the user's words, not the caller's rule: it is shown fenced, with the memories.
      ...memories
        .filter((m) => m.kind === 'constraint' && m.origin !== 'learned')
        .map((m, i) =>
          item(tok, 'hard_constraints', m.id, m.score, 1e9 + i, {
            content: m.content,
            lineFor: (c) => `- ${escapeFence(c)}`,
            memory: m,
            source: `memory:${m.scope}`,
          }),
        ),
      // The system turns of the user's other sessions, labelled with where they were set.
      ...(past?.constraints ?? []).map((t, i) => {
        const from = `(session ${escapeFence(t.session_id ?? '', true)}, ${dateText(t.created_at)})`;
        return item(tok, 'hard_constraints', t.id, 1, 2e9 + i, {
          content: t.content,
          lineFor: (c) => `- ${from} ${escapeFence(c)}`,
          turn: t,
          source: 'earlier session system turn',
        });
      }),
    ],
    // A turn that only made calls is shown by the findings, with each call beside its result; the newest turn, when
    // it is the query, is what the caller is about to send, not repeated.
    recent_turns: structural.recent
      .filter((t) => !callsShownWithResults(t, tools.list) && t !== asking)
      .map((t, i) => turnItem('recent_turns', t, 1 - i / 1000)),
    relevant_history: pool.filter((it) => it.section === 'relevant_history'),
    past_sessions: [
      // The declared tasks of the latest other sessions first, each in its session's block.
      ...(past?.tasks ?? []).map((t, i, all) => ({ ...pastItem.task(t), rank: i - all.length })),
      ...pool.filter((it) => it.section === 'past_sessions'),
    ],
    tool_findings: findingsSection(tools, tok),
    // Learned memories of the turns the ranker searched (the session's, or all the user's when its history is recalled).
    retrieved_memory: memoryItems(memories, scoreOf, (id) => past !== undefined || id === session.id, tok),
    summary: session.summary
      ? [
          item(tok, 'summary', `summary:${session.id}:${session.window_version ?? 0}`, 0.5, 0, {
            content: escapeFence(session.summary),
            lineFor: (c) => c,
            source: 'compaction summary',
          }),
        ]
      : [],
  };
}

/** The ranked probability of a candidate turn by its session and sequence, if it is a candidate. */
function turnScores(sessionId: string, ranked: readonly RankedTurn[]) {
  const byKey = new Map<string, number>();
  for (const { candidate, score } of ranked) {
    const key = `${candidate.turn.session_id ?? sessionId}\u0000${candidate.turn.sequence}`;
    byKey.set(key, Math.max(score, byKey.get(key) ?? 0));
  }
  return (session: string, sequence: number) => byKey.get(`${session}\u0000${sequence}`);
}

/**
 * Memory items: written ones in the order recalled, then learned ones by the ranked probability of their source
 * turns (a learned memory states what its turn said, and ranks as the turn). A learned memory of a session the ranker
 * searched is a short form of turns that compete for the budget themselves: it is packed with what they leave.
 */
function memoryItems(
  memories: readonly MemoryRow[],
  scoreOf: (sessionId: string, sequence: number) => number | undefined,
  searched: (sessionId: string) => boolean,
  tok: Tokenizer,
): Item<Payload>[] {
  const ranked = memories
    .filter((m) => m.kind !== 'constraint' || m.origin === 'learned')
    .map((m, i) => {
      const learned = m.origin === 'learned' && m.session_id != null;
      const scores = learned ? (m.source_sequences ?? []).flatMap((q) => scoreOf(m.session_id!, q) ?? []) : [];
      const score = scores.length > 0 ? Math.max(...scores) : undefined;
      return { m, i, score, shortForm: learned && searched(m.session_id!) };
    });
  // Written memories and learned ones the ranker did not see keep their recalled order, ahead of the ranked ones.
  const unranked = (x: { score: number | undefined }) => (x.score === undefined ? 0 : 1);
  ranked.sort((a, b) => unranked(a) - unranked(b) || (a.score === undefined ? a.i - b.i : b.score! - a.score));
  return ranked.map(({ m, shortForm }, order) => {
    const kind = escapeFence(m.kind, true);
    // A learned memory says when it was said: of two that disagree, the reader sees which is newer.
    const label = m.origin === 'learned' && m.valid_from ? `${kind}, ${dateHeader(m.valid_from).slice(1, -1)}` : kind;
    const it = item(tok, 'retrieved_memory', m.id, m.score, order, {
      content: escapeFence(m.content),
      lineFor: (c) => `- (${label}) ${c}`,
      memory: m,
      source: `memory:${m.scope}`,
    });
    return shortForm ? { ...it, leftoverOnly: true } : it;
  });
}

/** The reminder that ends the context: the declared task, shortened, when the caller sent no query. */
export function reminderText(session: Pick<SectionSession, 'metadata'>, query: string | undefined, tok: Tokenizer) {
  // The caller sends the query itself; a reminder only restates a declared task, against long contexts burying it.
  const reminderSource = query ? '' : (declaredTask(session) ?? '');
  return reminderSource ? tok.truncate(reminderSource, REMINDER_MAX_TOKENS) : '';
}

/**
 * Each section's share of what the budget leaves after the frame (`available`): in a tool-using stretch, raised for
 * the findings to hold the digest; with the caller's weights put in place.
 */
export function sectionSharesFor(
  candidates: Record<SectionName, Item[]>,
  tools: Pick<ToolFindings, 'active'>,
  available: number,
  body: Pick<QueryContextBody, 'query' | 'section_weights'>,
): Record<SectionName, number> {
  return weighted(
    tools.active
      ? toolShares(toolSectionShares, candidates.tool_findings[0]?.tokens ?? 0, available)
      : body.query
        ? querySectionShares
        : sectionShares,
    body.section_weights,
  );
}

/** Default shares with the named sections' weights put in their place, normalised to sum to one. */
function weighted(
  shares: Record<SectionName, number>,
  weights: QueryContextBody['section_weights'],
): Record<SectionName, number> {
  if (!weights || Object.keys(weights).length === 0) return shares;
  const merged = { ...shares, ...weights } as Record<SectionName, number>;
  const total = Object.values(merged).reduce((a, b) => a + b, 0);
  if (total <= 0) return shares;
  return Object.fromEntries(sectionNames.map((s) => [s, merged[s] / total])) as Record<SectionName, number>;
}

/** Items for turns, each under its day's header, the header's cost counted once per day. */
function turnItems(tok: Tokenizer) {
  const headerCost = new Map<string, number>();
  return (section: SectionName, t: TurnRow, score: number, duplicateOf?: string): Item<Payload> => {
    const group = dateHeader(t.created_at);
    let groupTokens = headerCost.get(group);
    if (groupTokens === undefined) headerCost.set(group, (groupTokens = tok.count(`${group}\n`)));
    // A new item each call: completed in place rather than copied.
    const it = turnItem(tok, section, t, score, t.sequence, section);
    it.group = group;
    it.groupTokens = groupTokens;
    if (duplicateOf) it.duplicateOf = duplicateOf;
    return it;
  };
}

/**
 * The pool of relevant history and earlier sessions in the order of most probability per token added, once the
 * user's other sessions are in it: an item's cost then counts the header or fences of its block when no item opened
 * that block yet, so a lone turn of another session pays for a block of its own. Without them the ranked order (per
 * token of the line alone) stands. Quadratic in the items, which are what 1.5 budgets hold.
 */
function withBlockCosts(items: Item<Payload>[]): Item<Payload>[] {
  if (!items.some((it) => it.section === 'past_sessions')) return items;
  const open = new Set<string>();
  const left = items.filter((it) => it.duplicateOf === undefined);
  const out: Item<Payload>[] = [];
  while (left.length > 0) {
    let best = 0;
    let bestValue = -1;
    left.forEach((it, i) => {
      const cost = it.tokens + (it.group === undefined || open.has(it.group) ? 0 : (it.groupTokens ?? 0));
      const value = it.score / Math.max(1, cost);
      if (value > bestValue) [best, bestValue] = [i, value];
    });
    const [it] = left.splice(best, 1);
    if (it!.group !== undefined) open.add(it!.group);
    out.push(it!);
  }
  // Near-duplicates keep their place after the rest: the planner reports and skips them.
  return [...out, ...items.filter((it) => it.duplicateOf !== undefined)].map((it, rank) => ({ ...it, rank }));
}

/**
 * Items of the user's other sessions: each under its session's block for the day (the fence names the session and
 * the date; its cost is counted once per block), in the order they were written.
 */
function pastItems(tok: Tokenizer) {
  const fenceCost = new Map<string, number>();
  const grouped = (it: Item<Payload>, sessionId: string, iso: string): Item<Payload> => {
    const group = pastSessionGroup(sessionId, iso);
    let groupTokens = fenceCost.get(group);
    if (groupTokens === undefined)
      fenceCost.set(group, (groupTokens = tok.count(`${pastSessionFence(group)}\n</data>\n`)));
    return { ...it, group, groupTokens };
  };
  return {
    turn(t: TurnRow, score: number, duplicateOf?: string): Item<Payload> {
      const at = positionOf(t);
      const it = grouped(
        turnItem(tok, 'past_sessions', t, score, at, 'past_sessions'),
        t.session_id ?? '',
        t.created_at,
      );
      return duplicateOf ? { ...it, duplicateOf } : it;
    },
    task(t: EarlierSessions['tasks'][number]): Item<Payload> {
      const content = escapeFence(tok.truncate(t.task, ANCHOR_MAX_TOKENS));
      const session = { id: t.session_id, at: t.created_at };
      const payload = { content, lineFor: (c: string) => `(task) ${c}`, session, source: 'past_sessions' };
      // Before the session's first turn, in the block of its first day.
      const it = item(tok, 'past_sessions', `task:${t.session_id}`, 1, t.position - 0.5, payload);
      return grouped(it, t.session_id, t.created_at);
    },
  };
}
