// Tool findings: each tool result shown with the call that produced it, summarised when long, an outdated result
// yielding to a newer one, and a digest of identifier-like values that survives when the results are cut.
import { pacer } from '../event-loop.js';
import type { SectionName } from '../schemas/context.js';
import { commaPart, type Tokenizer } from '../tokenizer.js';
import { compactJson, DEFAULT_SUMMARY_TOKENS, toolSummaries, type ToolSummary } from './compressor/tool-summary.js';
import { escapeFence } from './fence.js';
import { costedLine, item, perTurnRow, turnLine, type Payload, type Shown } from './items.js';
import { replaceKept, type Item, type Plan } from './planner.js';
import { remembered } from './remembered.js';
import { mostThatFit } from './sorted.js';
import { lineCost, withinReach } from './retriever/relevant.js';
import type { StructuralCandidates, TurnRow, TurnSource } from './retriever/types.js';

export interface CallRef {
  id: string;
  name: string;
  arguments: string;
  /** The assistant turn that made the call. */
  turnId: string;
  sequence: number;
}

/** Calls by id; an id may be reused, so each result pairs with the latest call of its id made before it. */
export type CallIndex = ReadonlyMap<string, readonly CallRef[]>;

/** Field names an operator keeps for a tool (`*`: for every tool), e.g. from CONTEXT_TOOL_FIELDS. */
export type ToolFieldWhitelist = Readonly<Record<string, readonly string[]>>;

export interface Finding {
  turn: TurnRow;
  call: CallRef | undefined;
  summary: ToolSummary;
  /** `name(arguments)` of the call, or the tool's name when the call is not known. */
  label: string;
  /** What is shown: the whole output when its summary would not be shorter, else the summary. */
  content: string;
  summarized: boolean;
  /** The content escaped, and its line with its cost, as the tool_findings section shows it. */
  shown: Shown & { escaped: string };
  /** A newer result of the same tool on the same arguments: this one is outdated. */
  outdatedBy?: string;
}

/** The calls of assistant turns, by id, newest first. */
export function callIndex(turns: readonly TurnRow[]): CallIndex {
  const out = new Map<string, CallRef[]>();
  for (const t of [...turns].sort((a, b) => b.sequence - a.sequence)) {
    for (const c of t.tool_calls ?? []) {
      const ref = { id: c.id, name: c.name, arguments: c.arguments, turnId: t.id, sequence: t.sequence };
      const list = out.get(c.id);
      if (list) list.push(ref);
      else out.set(c.id, [ref]);
    }
  }
  return out;
}

/**
 * The calls behind these results: from the newest call turns already read, and for results older than those, one
 * more read of the turns that made their calls (`more`).
 */
export async function pairCalls(
  results: readonly TurnRow[],
  known: readonly TurnRow[],
  more: (results: TurnRow[]) => Promise<TurnRow[]>,
): Promise<CallIndex> {
  const index = callIndex(known);
  const missing = results.filter((r) => r.tool_call_id && !callOf(r, index));
  if (missing.length === 0) return index;
  const seen = new Set(known.map((t) => t.id));
  return callIndex([...known, ...(await more(missing)).filter((t) => !seen.has(t.id))]);
}

/** The call a result answers: the latest call with its id made before it. */
export function callOf(result: TurnRow, calls: CallIndex): CallRef | undefined {
  return result.tool_call_id ? calls.get(result.tool_call_id)?.find((c) => c.sequence < result.sequence) : undefined;
}

const MEMO_MAX = 5_000;
/** Longer string arguments (prose) are cut in a call's label; identifiers are far shorter and stay whole. */
const LABEL_STRING_CHARS = 80;
const memo = new Map<string, ToolSummary>();

/** Result rows whose summaries at any size are kept (each holds the output's fields). */
const SUMMARIZED_ROWS_MAX = 1_000;
const summariesByRow = new WeakMap<Tokenizer, Map<TurnRow, Map<string, ReturnType<typeof toolSummaries>>>>();

/**
 * A result row's summaries at any size (toolSummaries), per whitelist: the output is read once for the queries that
 * show the same row (session copies keep their rows); the latest rows are kept.
 */
function summariesOf(turn: TurnRow, keep: readonly string[], tok: Tokenizer) {
  let byRow = summariesByRow.get(tok);
  if (!byRow) summariesByRow.set(tok, (byRow = new Map()));
  let byKeep = byRow.get(turn);
  if (!byKeep) {
    if (byRow.size >= SUMMARIZED_ROWS_MAX) byRow.delete(byRow.keys().next().value!);
    byRow.set(turn, (byKeep = new Map()));
  }
  const key = JSON.stringify(keep);
  let at = byKeep.get(key);
  if (!at) byKeep.set(key, (at = toolSummaries(turn.content, tok, { keep })));
  return at;
}

/**
 * Summaries are pure functions of a stored (immutable) turn and the whitelist, so they are computed once per process
 * (also for rows read again from the database).
 */
function summaryOf(turn: TurnRow, keep: readonly string[], tok: Tokenizer): ToolSummary {
  const key = JSON.stringify([turn.id, keep]);
  let s = memo.get(key);
  if (!s) {
    s = summariesOf(turn, keep, tok)();
    if (memo.size >= MEMO_MAX) memo.delete(memo.keys().next().value!);
    memo.set(key, s);
  }
  return s;
}

export function keepFor(whitelist: ToolFieldWhitelist | undefined, tool: string | null): string[] {
  if (!whitelist) return [];
  return [...(tool ? (whitelist[tool] ?? []) : []), ...(whitelist['*'] ?? [])];
}

// Call arguments are read again by every query of the session: remembered per arguments text.
const normalizeArgs = remembered((text: string) => {
  try {
    return JSON.stringify(sortKeys(JSON.parse(text)));
  } catch {
    return text.trim();
  }
}, MEMO_MAX);
/** A call's arguments as its label shows them: compact, long strings cut. */
const labelArgs = remembered((text: string) => compactJson(text, LABEL_STRING_CHARS), MEMO_MAX);
const sortKeys = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(sortKeys)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([k, x]) => [k, sortKeys(x)]),
        )
      : v;

/** What a result row shows for its call's name and arguments and the fields kept: the same on every query. */
interface RowFinding extends Pick<Finding, 'summary' | 'label' | 'content' | 'summarized' | 'shown'> {
  name: string;
  args: string | undefined;
  keep: string;
}

const rowFindings = perTurnRow<RowFinding>();

/**
 * A result row's summary, label and line, worked out again only when its call or the fields kept are not those kept.
 */
function rowFinding(turn: TurnRow, call: CallRef | undefined, tok: Tokenizer, whitelist?: ToolFieldWhitelist) {
  const name = call?.name ?? turn.name ?? 'tool';
  const keep = keepFor(whitelist, name);
  const keepKey = keep.length === 0 ? '' : JSON.stringify(keep);
  const byTurn = rowFindings(tok);
  let r = byTurn.get(turn);
  if (!r || r.name !== name || r.args !== call?.arguments || r.keep !== keepKey) {
    const summary = summaryOf(turn, keep, tok);
    const summarized = turn.token_count > tok.count(summary.text);
    // Name and arguments come from the model or the caller: one line, no fence markers.
    const label = escapeFence(call ? `${name}(${labelArgs(call.arguments)})` : name, true);
    const content = summarized ? summary.text : turn.content;
    const escaped = escapeFence(content);
    const shown = { escaped, ...costedLine(tok, findingLine(label)(escaped)) };
    byTurn.set(turn, (r = { name, args: call?.arguments, keep: keepKey, summary, summarized, label, content, shown }));
  }
  return r;
}

/** The findings of tool results given newest first. */
export function findings(
  results: readonly TurnRow[],
  calls: CallIndex,
  tok: Tokenizer,
  whitelist?: ToolFieldWhitelist,
): Finding[] {
  // The newest result's id per tool name, then per normalised arguments.
  const newestByCall = new Map<string, Map<string, string>>();
  return results.map((turn) => {
    const call = callOf(turn, calls);
    const { name, summary, label, content, summarized, shown } = rowFinding(turn, call, tok, whitelist);
    const f: Finding = { turn, call, summary, label, content, summarized, shown };
    if (call) {
      let byArgs = newestByCall.get(name);
      if (!byArgs) newestByCall.set(name, (byArgs = new Map()));
      const args = normalizeArgs(call.arguments);
      const newer = byArgs.get(args);
      if (newer) f.outdatedBy = newer;
      else byArgs.set(args, turn.id);
    }
    return f;
  });
}

/**
 * Works out how the session's tool results are shown (summary, label, line; see rowFinding) before the queries that
 * show them: the newest `limit` results with their calls, with a turn of the event loop now and then.
 * Worth it only where rows are kept from query to query (a session copy's). Returns how many were not held yet.
 */
export async function prepareFindings(
  source: Pick<TurnSource, 'structural' | 'callTurns'>,
  tok: Tokenizer,
  whitelist: ToolFieldWhitelist | undefined,
  limit: number,
): Promise<number> {
  const { tool, calls: known } = await source.structural(0, undefined, limit);
  const calls = await pairCalls(tool, known, (results) => source.callTurns(results));
  const held = rowFindings(tok);
  const pace = pacer();
  let fresh = 0;
  for (const t of tool) {
    if (held.has(t)) continue;
    await pace();
    rowFinding(t, callOf(t, calls), tok, whitelist);
    fresh++;
  }
  return fresh;
}

/** The findings of one query, with what the sections and the settle step need of them. */
export interface ToolFindings {
  list: Finding[];
  /** Identifier-like values of the results, newest first (digestValues). */
  digest: string[];
  /** The digest item's id. */
  digestId: string;
  /** A tool-using stretch: tool results get the larger share of the budget (toolActive). */
  active: boolean;
  whitelist: ToolFieldWhitelist | undefined;
}

/**
 * The newest tool results, then older ones the ranking matched to the query, each paired with its call (one more read
 * when a call is older than the call turns read) and summarised when long. Older ones are taken only as far down the
 * ranking as the budget reaches (withinReach, as for history lines; a result counts at most its summary's bound).
 */
export async function gatherFindings(input: {
  sessionId: string;
  structural: StructuralCandidates;
  ranked: readonly { candidate: { turn: TurnRow } }[];
  budgetTokens: number;
  source: Pick<TurnSource, 'callTurns'>;
  tok: Tokenizer;
  whitelist: ToolFieldWhitelist | undefined;
}): Promise<ToolFindings> {
  const { structural, source, tok, whitelist } = input;
  const newest = new Set(structural.tool.map((r) => r.id));
  // A result counts towards the reach at most as its summary's bound: a large output does not use it up.
  const matchedTools = withinReach(input.ranked, input.budgetTokens, (t) =>
    t.role === 'tool' ? Math.min(t.token_count, DEFAULT_SUMMARY_TOKENS) + 4 : lineCost(t),
  )
    .map((r) => r.candidate.turn)
    .filter((t) => t.role === 'tool' && !newest.has(t.id));
  // Newest results first, then older ones that match the query; each shown with its call, summarised when long.
  const toolTurns = [...structural.tool, ...matchedTools];
  const calls = await pairCalls(toolTurns, structural.calls, (results) => source.callTurns(results));
  const list = findings(toolTurns, calls, tok, whitelist);
  const active = toolActive(structural.recent, structural.tool);
  return { list, digest: digestValues(list), digestId: `tool-values:${input.sessionId}`, active, whitelist };
}

export const findingLine = (label: string) => (content: string) => `${label} → ${content}`;

/** Re-summarises a finding to fit `maxTokens` of content (the lowest-priority fields go first). */
export function shrinkFinding(
  f: Finding,
  maxTokens: number,
  tok: Tokenizer,
  whitelist?: ToolFieldWhitelist,
): string | undefined {
  if (maxTokens <= 0) return undefined;
  const s = summariesOf(f.turn, keepFor(whitelist, f.call?.name ?? f.turn.name), tok)(maxTokens);
  return s.text || undefined;
}

export const DIGEST_PREFIX = 'Values from tool results, newest first: ';

/** Identifier-like values of the results that are not outdated, newest result first, each value once. */
export function digestValues(list: readonly Finding[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const f of list) {
    if (f.outdatedBy) continue;
    for (const v of f.summary.identifiers) {
      if (seen.has(v)) continue;
      seen.add(v);
      out.push(v);
    }
  }
  return out;
}

export const digestContent = (values: readonly string[]) => values.join(', ');

/**
 * Tokens of each newest-first prefix of the digest: `at(m)` counts `digestContent(values.slice(0, m))`. Counted by
 * value, not by prefix: the joined text's tokens are the sum of its parts cut after each comma (`commaPart`), each
 * counted once (and remembered).
 */
export function digestPrefixTokens(values: readonly string[], tok: Tokenizer): (m: number) => number {
  const part = (i: number, comma: boolean) => tok.count(commaPart(values[i]!, i === 0, comma));
  // before[i]: tokens of the first i values, each with its comma.
  const before = [0];
  for (let i = 0; i < values.length - 1; i++) before.push(before[i]! + part(i, true));
  return (m) => (m <= 0 ? 0 : before[m - 1]! + part(m - 1, false));
}

/** The longest newest-first prefix of the values that fits `maxTokens` (binary search). */
export function shrinkDigest(values: readonly string[], maxTokens: number, tok: Tokenizer): string | undefined {
  const tokensOf = digestPrefixTokens(values, tok);
  const fitting = mostThatFit(values.length, (m) => tokensOf(m) <= maxTokens);
  return fitting > 0 ? digestContent(values.slice(0, fitting)) : undefined;
}

/**
 * The session is in a tool-using stretch: its newest tool result is no older than the oldest of the recent
 * conversation turns. Then tool results get the larger share of the budget.
 */
export function toolActive(recent: readonly TurnRow[], tools: readonly TurnRow[]): boolean {
  if (tools.length === 0) return false;
  if (recent.length === 0) return true;
  const newestTool = Math.max(...tools.map((t) => t.sequence));
  const oldestRecent = Math.min(...recent.map((t) => t.sequence));
  return newestTool >= oldestRecent;
}

/**
 * Tool-stretch shares with the findings share raised, when needed, to hold the digest whole (up to 85 % of the
 * budget); the other sections give up tokens in proportion to their shares.
 */
export function toolShares<S extends string>(
  base: Readonly<Record<S, number>>,
  digestTokens: number,
  available: number,
): Record<S, number> {
  const key = 'tool_findings' as S;
  const want = Math.min(0.85, Math.max(base[key], available > 0 ? (digestTokens + 16) / available : 0));
  const rest = 1 - base[key];
  const scale = rest > 0 ? (1 - want) / rest : 0;
  return Object.fromEntries(
    Object.entries(base).map(([k, v]) => [k, k === key ? want : (v as number) * scale]),
  ) as Record<S, number>;
}

/** A turn that only makes calls, all of whose results are among the findings: the findings show those calls. */
export function callsShownWithResults(turn: TurnRow, list: readonly Finding[]): boolean {
  if (turn.role !== 'assistant' || !turn.tool_calls?.length || turn.content.trim() !== '') return false;
  return turn.tool_calls.every((c) => list.some((f) => f.call?.turnId === turn.id && f.call.id === c.id));
}

/**
 * After planning, with what the budget has left (`room`): summarised results become whole, newest first, while they
 * fit; the digest goes once every value it lists is shown elsewhere, and the tokens it frees go to the next results.
 * `whole` renders a finding's full line (with its token cost), or undefined when there is none.
 */
export function settleFindings(
  p: Plan,
  room: number,
  digest: { id: string; values: readonly string[] } | undefined,
  whole: (item: Item) => Item | undefined,
): void {
  const expand = () => {
    const summarised = p.kept
      .filter((k) => k.section === 'tool_findings' && k.truncated && k.id !== digest?.id)
      .sort((a, b) => b.order - a.order);
    for (const k of summarised) {
      const next = whole(k);
      if (!next || next.tokens - k.tokens > room) continue;
      room -= replaceKept(p, k.id, next);
    }
  };
  expand();
  if (!digest || !p.kept.some((k) => k.id === digest.id)) return;
  const others = p.kept.filter((k) => k.id !== digest.id).map((k) => k.line);
  if (digest.values.every((v) => others.some((line) => line.includes(v)))) {
    room -= replaceKept(p, digest.id, undefined);
    expand();
  }
}

/**
 * A kept turn never shows a call whose result exists among the findings but was left out: such calls are taken off
 * its line (`strip` re-renders the turn with the calls it keeps). Calls still waiting for a result stay.
 */
export function dropUnansweredCalls(
  p: Plan,
  list: readonly Finding[],
  strip: (item: Item, keep: string[]) => Item,
): void {
  const kept = new Set(p.kept.map((k) => k.id));
  for (const k of [...p.kept]) {
    if (k.section !== 'recent_turns' && k.section !== 'relevant_history') continue;
    const turn = (k.payload as { turn?: TurnRow }).turn;
    if (!turn?.tool_calls?.length) continue;
    const left = new Set(list.filter((f) => f.call?.turnId === turn.id && !kept.has(f.turn.id)).map((f) => f.call!.id));
    if (left.size === 0) continue;
    replaceKept(
      p,
      k.id,
      strip(
        k,
        turn.tool_calls.map((c) => c.id).filter((id) => !left.has(id)),
      ),
    );
  }
}

/** The tool_findings section's candidates: the digest first, then each finding (newest first). */
export function findingsSection(tools: ToolFindings, tok: Tokenizer): Item<Payload>[] {
  const { digest, whitelist } = tools;
  const section: SectionName = 'tool_findings';
  return [
    ...(digest.length > 0
      ? [
          item(tok, section, tools.digestId, 1, -1, {
            content: escapeFence(digestContent(digest)),
            lineFor: (c) => `${DIGEST_PREFIX}${c}`,
            source: 'tool result values',
            shrink: (max) => {
              const c = shrinkDigest(digest, max, tok);
              return c && escapeFence(c);
            },
          }),
        ]
      : []),
    ...tools.list.map((f, i) => {
      const it = item(
        tok,
        section,
        f.turn.id,
        1 - (i + 1) / 1000,
        f.turn.sequence,
        {
          content: f.shown.escaped,
          lineFor: findingLine(f.label),
          turn: f.turn,
          source: 'tool result',
          shrink: (max) => {
            const c = shrinkFinding(f, max, tok, whitelist);
            return c && escapeFence(c);
          },
        },
        f.shown,
      );
      return {
        ...it,
        ...(f.summarized ? { truncated: true } : {}),
        ...(f.outdatedBy ? { duplicateOf: f.outdatedBy } : {}),
      };
    }),
  ];
}

/**
 * The settle step, after planning with `room` tokens of the budget left: summarised findings made whole and a
 * redundant digest dropped (settleFindings), then calls whose results were left out taken off kept turns.
 */
export function settle(p: Plan, room: number, tools: ToolFindings, tok: Tokenizer): void {
  const digest = tools.digest.length ? { id: tools.digestId, values: tools.digest } : undefined;
  settleFindings(p, room, digest, (k) => wholeFinding(k, tok));
  dropUnansweredCalls(p, tools.list, (k, keep) => withCalls(k, keep, tok));
}

/** A finding's item showing the whole result, or undefined for an item without a turn (the digest). */
function wholeFinding(k: Item, tok: Tokenizer): Item | undefined {
  const turn = (k.payload as Payload).turn;
  if (!turn) return undefined;
  const payload = { ...(k.payload as Payload), content: escapeFence(turn.content) };
  const whole = item(tok, 'tool_findings', k.id, k.score, k.order, payload);
  return { ...whole, ...(k.duplicateOf ? { duplicateOf: k.duplicateOf } : {}) };
}

/** A turn's item showing only the calls in `keep`. */
function withCalls(k: Item, keep: string[], tok: Tokenizer): Item {
  const payload = k.payload as Payload;
  const shown = { ...payload.turn!, tool_calls: payload.turn!.tool_calls!.filter((c) => keep.includes(c.id)) };
  const line = turnLine(shown)(payload.content);
  return { ...k, line, tokens: tok.count(`${line}\n`), payload: { ...payload, turn: shown, lineFor: turnLine(shown) } };
}
