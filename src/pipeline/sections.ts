// Section candidates: what each of the seven envelope sections offers the planner, best first, built from what was
// retrieved (structural turns, ranked history, memories, tool findings); and each section's share of the budget.
import { querySectionShares, sectionShares, toolSectionShares } from '../config/tuning.js';
import { sectionNames, type QueryContextBody, type SectionName } from '../schemas/context.js';
import type { Tokenizer } from '../tokenizer.js';
import { dateHeader } from './assembler.js';
import { escapeFence } from './fence.js';
import { item, turnLine, type Payload } from './items.js';
import type { Item } from './planner.js';
import type { RankedTurn } from './retriever/relevant.js';
import type { MemoryRow, StructuralCandidates, TurnRow } from './retriever/types.js';
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
  tok: Tokenizer;
}

/** The session's declared task (`metadata.task`), if it has one. */
export function declaredTask(session: Pick<SectionSession, 'metadata'>): string | undefined {
  return typeof session.metadata.task === 'string' ? session.metadata.task : undefined;
}

/** Each section's candidates, best first. */
export function sectionCandidates(input: SectionInput): Record<SectionName, Item<Payload>[]> {
  const { session, structural, ranked, memories, tools, tok } = input;
  const turnItem = turnItems(tok);
  // With a query, the query is the task: the opening turn only appears if it is relevant or recent. Without one,
  // the opening request anchors the context and is repeated at the end.
  const taskText = declaredTask(session);
  const anchorText = taskText ?? (input.query ? undefined : structural.first?.content);
  const conversational = (t: TurnRow) => t.role === 'user' || t.role === 'assistant';
  return {
    task_anchor: anchorText
      ? [item(tok, 'task_anchor', structural.first?.id ?? 'task', 1, 0, {
          content: escapeFence(tok.truncate(anchorText, ANCHOR_MAX_TOKENS)),
          lineFor: (c) => c,
          source: typeof session.metadata.task === 'string' ? 'session.metadata.task' : 'first user turn',
        })]
      : [],
    hard_constraints: [
      // Unfenced, so they must not open a fence either; the envelope keeps their text as written.
      ...structural.system.map((t) => item(tok, 'hard_constraints', t.id, 1, t.sequence, {
        content: t.content, lineFor: (c) => `- ${escapeFence(c)}`, turn: t, source: 'system turn',
      })),
      ...memories.filter((m) => m.kind === 'constraint').map((m, i) =>
        item(tok, 'hard_constraints', m.id, m.score, 1e9 + i, {
          content: m.content, lineFor: (c) => `- ${escapeFence(c)}`, memory: m, source: `memory:${m.scope}`,
        })),
    ],
    // A turn that only made calls is shown by the findings, with each call beside its result.
    recent_turns: structural.recent
      .filter((t) => !callsShownWithResults(t, tools.list))
      .map((t, i) => turnItem('recent_turns', t, 1 - i / 1000)),
    relevant_history: withinReach(
      ranked.filter((r) => conversational(r.candidate.turn) && !callsShownWithResults(r.candidate.turn, tools.list)),
      input.budgetTokens,
    ).map((r) =>
      turnItem('relevant_history', r.candidate.turn, r.score, r.duplicateOf),
    ),
    tool_findings: findingsSection(tools, tok),
    retrieved_memory: memories.filter((m) => m.kind !== 'constraint').map((m, i) => {
      const kind = escapeFence(m.kind, true);
      return item(tok, 'retrieved_memory', m.id, m.score, i, {
        content: escapeFence(m.content), lineFor: (c) => `- (${kind}) ${c}`, memory: m, source: `memory:${m.scope}`,
      });
    }),
    summary: session.summary
      ? [item(tok, 'summary', `summary:${session.id}:${session.window_version ?? 0}`, 0.5, 0, {
          content: escapeFence(session.summary), lineFor: (c) => c, source: 'compaction summary',
        })]
      : [],
  };
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
      : body.query ? querySectionShares : sectionShares,
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
    const payload = { content: escapeFence(t.content), lineFor: turnLine(t), turn: t, source: section };
    const it = item(tok, section, t.id, score, t.sequence, payload);
    return { ...it, group, groupTokens, ...(duplicateOf ? { duplicateOf } : {}) };
  };
}

/**
 * The best-ranked turns whose stored token counts add up to 1.5 times the budget: more than the planner can use, so
 * the lines of turns that cannot fit are never rendered and counted.
 */
function withinReach<T extends { candidate: { turn: TurnRow } }>(ranked: readonly T[], budget: number): T[] {
  let total = 0;
  const out: T[] = [];
  for (const r of ranked) {
    if (total > 1.5 * budget) break;
    out.push(r);
    total += r.candidate.turn.token_count + 4;
  }
  return out;
}
