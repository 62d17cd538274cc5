// The planner's items for turns, memories and tool results: each carries its line, its token cost and what it was
// built from, so the planner can shorten it and a later step can render it again.
import { pacer } from '../event-loop.js';
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

/** An item's line and its cost, counted with the line break that follows it. */
export interface Shown {
  line: string;
  tokens: number;
}

/** `line` with its cost: counted with the line break that follows each line, so planned tokens add up to the text. */
export const costedLine = (tok: Tokenizer, line: string): Shown => ({ line, tokens: tok.count(`${line}\n`) });

/**
 * An item showing its payload's content as its line (`known`: that line and its cost, worked out before for the same
 * content).
 */
export function item(
  tok: Tokenizer,
  section: SectionName,
  id: string,
  score: number,
  order: number,
  p: Payload,
  known?: Shown,
): Item<Payload> {
  const { line, tokens } = known ?? costedLine(tok, p.lineFor(p.content));
  return { id, section, line, tokens, score, order, payload: p };
}

/**
 * Values kept per tokenizer and turn row: rows never change, and the session copies keep them from query to query,
 * so what a row shows is worked out once.
 */
export function perTurnRow<V>(): (tok: Tokenizer) => WeakMap<TurnRow, V> {
  const byTokenizer = new WeakMap<Tokenizer, WeakMap<TurnRow, V>>();
  return (tok) => {
    let byTurn = byTokenizer.get(tok);
    if (!byTurn) byTokenizer.set(tok, (byTurn = new WeakMap()));
    return byTurn;
  };
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
interface TurnRendering extends Shown {
  content: string;
  lineFor: (content: string) => string;
}

const renderings = perTurnRow<TurnRendering>();

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
  const r = rendering(tok, t);
  return item(tok, section, t.id, score, order, { content: r.content, lineFor: r.lineFor, turn: t, source }, r);
}

function rendering(tok: Tokenizer, t: TurnRow): TurnRendering {
  const byTurn = renderings(tok);
  let r = byTurn.get(t);
  if (!r) {
    const content = escapeFence(t.content);
    const lineFor = turnLine(t);
    byTurn.set(t, (r = { content, lineFor, ...costedLine(tok, lineFor(content)) }));
  }
  return r;
}

/**
 * Works out the lines of turns a session copy keeps (see turnItem) before the queries that show them, with a turn of
 * the event loop now and then. Returns how many were not worked out yet.
 */
export async function prepareTurnLines(tok: Tokenizer, turns: readonly TurnRow[]): Promise<number> {
  const held = renderings(tok);
  const pace = pacer({ every: 200 });
  let fresh = 0;
  for (const t of turns) {
    if (held.has(t)) continue;
    await pace();
    rendering(tok, t);
    fresh++;
  }
  return fresh;
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
