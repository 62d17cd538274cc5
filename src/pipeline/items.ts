// The planner's items for turns, memories and tool results: each carries its line, its token cost and what it was
// built from, so the planner can shorten it and a later step can render it again.
import type { SectionName } from '../schemas/context.js';
import type { Tokenizer } from '../tokenizer.js';
import { truncateHeadTail } from './compressor/truncate.js';
import { escapeFence } from './fence.js';
import type { Item } from './planner.js';
import type { MemoryRow, TurnRow } from './retriever/types.js';

export interface Payload {
  content: string;
  lineFor: (content: string) => string;
  turn?: TurnRow;
  memory?: MemoryRow;
  /** An earlier session's item that is not one of its turns (its task): that session and its first turn's time. */
  session?: { id: string; at: string };
  source: string;
  /** Shortens the content to fit a number of tokens; without it the content is cut head and tail. */
  shrink?: (maxTokens: number) => string | undefined;
}

/**
 * An item showing its payload's content as its line. Costs are counted with the line break that follows each line,
 * so planned tokens add up to the rendered text.
 */
export function item(
  tok: Tokenizer,
  section: SectionName,
  id: string,
  score: number,
  order: number,
  p: Payload,
): Item<Payload> {
  const line = p.lineFor(p.content);
  return { id, section, line, tokens: tok.count(`${line}\n`), score, order, payload: p };
}

/**
 * `speaker: content`; the date is the group header above the line, so it is not repeated per turn. The speaker and
 * the calls are escaped as one-line fields (the content is escaped by the caller).
 */
export function turnLine(t: TurnRow) {
  const call = (c: { name: string; arguments: string }) =>
    `${escapeFence(c.name, true)}(${escapeFence(c.arguments, true)})`;
  const calls = t.tool_calls?.length ? ` → calls ${t.tool_calls.map(call).join(', ')}` : '';
  const speaker = escapeFence(t.name ?? t.role, true);
  return (c: string) => `${speaker}: ${c}${calls}`;
}

/** A turn's item parts: its escaped content, its line function, and the line with its cost (see `turnItem`). */
interface TurnRendering {
  content: string;
  lineFor: (content: string) => string;
  line: string;
  tokens: number;
}

/** Per tokenizer, per turn row held: rows never change and the session copies keep them from query to query. */
const renderings = new WeakMap<Tokenizer, WeakMap<TurnRow, TurnRendering>>();

/**
 * An item showing a turn whole (`speaker: content`, see turnLine), as `item` builds it; its line and cost are worked
 * out once per turn row, then reused by every query that shows the row.
 */
export function turnItem(
  tok: Tokenizer,
  section: SectionName,
  t: TurnRow,
  score: number,
  order: number,
  source: string,
): Item<Payload> {
  let byTurn = renderings.get(tok);
  if (!byTurn) renderings.set(tok, (byTurn = new WeakMap()));
  let r = byTurn.get(t);
  if (!r) {
    const content = escapeFence(t.content);
    const lineFor = turnLine(t);
    const line = lineFor(content);
    byTurn.set(t, (r = { content, lineFor, line, tokens: tok.count(`${line}\n`) }));
  }
  const payload: Payload = { content: r.content, lineFor: r.lineFor, turn: t, source };
  return { id: t.id, section, line: r.line, tokens: r.tokens, score, order, payload };
}

/** How the planner shortens an item to fit `maxTokens`: by its payload's own shrink, else head and tail. */
export function shrinkItem(tok: Tokenizer) {
  return (it: Item, maxTokens: number): Item | undefined => {
    // A retrieved turn is evidence: shown whole or not at all; a fragment would crowd out whole turns.
    if (it.section === 'relevant_history' || it.section === 'past_sessions') return undefined;
    const payload = it.payload as Payload;
    const overhead = tok.count(payload.lineFor('')) + 1;
    const content = payload.shrink
      ? payload.shrink(maxTokens - overhead)
      : truncateHeadTail(payload.content, maxTokens - overhead, tok);
    if (!content) return undefined;
    const line = payload.lineFor(content);
    return { ...it, line, tokens: tok.count(line) + 1, truncated: true, payload: { ...payload, content } };
  };
}
