// Sessions of any length built at run time from the benchmark data: LoCoMo conversations repeated with new ids and
// shifted dates, with τ-bench tool traffic every few turns (or, without it, lookups quoting the preceding turns).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadFolder, type Conversation } from '../eval/locomo.js';

/** A turn exactly as the write API takes it. */
export interface BenchTurn {
  role: 'user' | 'assistant' | 'tool';
  content: string;
  name?: string;
  external_id: string;
  created_at: string;
  tool_call_id?: string;
  tool_calls?: { id: string; name: string; arguments: string }[];
}

export interface ToolPair {
  name: string;
  arguments: string;
  result: string;
}

export interface Corpus {
  conversations: Conversation[];
  /** Empty when tool traffic is synthesised from the conversations. */
  tools: ToolPair[];
  /** Question texts (categories 1–4), de-duplicated, in a fixed shuffled order so consecutive queries vary. */
  questions: string[];
  /** Where tool traffic came from, for the report. */
  toolSource: string;
}

/** Conversational turns between two tool call/result pairs. */
export const TOOL_EVERY = 10;
const DAY_MS = 86_400_000;

export function defaultToolFile(dataDir: string): string {
  return path.join(dataDir, '..', 'tau-airline', 'trajectories.json');
}

/**
 * `tools`: a τ-bench trajectories file, `none` to synthesise tool traffic, or undefined for the default beside the
 * data.
 */
export async function loadCorpus(dataDir: string, tools?: string): Promise<Corpus> {
  const conversations = await loadFolder(dataDir);
  const toolFile = tools === 'none' ? undefined : (tools ?? defaultToolFile(dataDir));
  let pairs: ToolPair[] = [];
  if (toolFile && (tools !== undefined || existsSync(toolFile)))
    pairs = parseTauTools(JSON.parse(await readFile(toolFile, 'utf8')));
  const questions = shuffle(
    [...new Set(conversations.flatMap((c) => c.questions.map((q) => q.question.trim())).filter(Boolean))],
    7,
  );
  if (questions.length === 0) throw new Error(`${dataDir}: no questions to query with`);
  return {
    conversations,
    tools: pairs,
    questions,
    toolSource: pairs.length
      ? `${pairs.length} τ-bench tool calls from ${toolFile}`
      : 'synthesised from the conversations',
  };
}

/** Each tool call of a τ-bench trajectory paired with the result that answered it. */
export function parseTauTools(data: unknown): ToolPair[] {
  const out: ToolPair[] = [];
  const items = Array.isArray(data) ? data : [];
  for (const item of items) {
    const traj = (item as { traj?: unknown }).traj;
    if (!Array.isArray(traj)) continue;
    const results = new Map<string, string>();
    for (const m of traj)
      if (m?.role === 'tool' && typeof m.tool_call_id === 'string')
        results.set(m.tool_call_id, String(m.content ?? ''));
    for (const m of traj) {
      if (m?.role !== 'assistant' || !Array.isArray(m.tool_calls)) continue;
      for (const c of m.tool_calls) {
        const result = results.get(c?.id);
        if (!c?.function?.name || result === undefined || !result.trim()) continue;
        out.push({ name: String(c.function.name), arguments: String(c.function.arguments ?? '{}'), result });
      }
    }
  }
  return out;
}

/** Up to `count` of the last questions, none of them among the first `measured` (the questions a run measures). */
export const warmUpQuestions = (questions: readonly string[], measured: number, count: number): string[] =>
  questions.slice(Math.max(measured, questions.length - count));

/** Deterministic Fisher–Yates (a small LCG), so every run asks the same questions in the same order. */
export function shuffle<T>(items: T[], seed: number): T[] {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * The first `n` turns of the endless session: copy k of the corpus has external ids prefixed `k.` and dates moved
 * k × (the corpus's date span + 1 day) later, so every copy is distinct and time only moves forward across copies.
 */
export function* sessionTurns(corpus: Corpus, n: number): Generator<BenchTurn> {
  const convTurns = corpus.conversations.flatMap((c) => c.turns.map((t) => ({ conv: c, t })));
  if (convTurns.length === 0) throw new Error('the corpus has no turns');
  const times = convTurns.map(({ t }) => Date.parse(t.createdAt));
  const span = Math.max(...times) - Math.min(...times) + DAY_MS;
  let emitted = 0;
  let conversational = 0;
  let toolIndex = 0;
  for (let copy = 0; ; copy++) {
    const shift = copy * span;
    const recent: BenchTurn[] = [];
    for (const { conv, t } of convTurns) {
      const created_at = new Date(Date.parse(t.createdAt) + shift).toISOString();
      const turn: BenchTurn = {
        role: t.speaker === conv.speakerA ? 'user' : 'assistant',
        content: t.content,
        name: t.speaker,
        external_id: `${copy}.${conv.name}.${t.diaId}`,
        created_at,
      };
      yield turn;
      if (++emitted >= n) return;
      recent.push(turn);
      if (recent.length > 3) recent.shift();
      if (++conversational % TOOL_EVERY !== 0) continue;
      const pair = corpus.tools.length ? corpus.tools[toolIndex % corpus.tools.length]! : synthesisedTool(recent);
      const callId = `call_${copy}_${toolIndex}`;
      toolIndex += 1;
      yield {
        role: 'assistant',
        content: '',
        external_id: `${copy}.tool.${toolIndex}.call`,
        created_at,
        tool_calls: [{ id: callId, name: pair.name, arguments: pair.arguments }],
      };
      if (++emitted >= n) return;
      yield {
        role: 'tool',
        content: pair.result,
        name: pair.name,
        tool_call_id: callId,
        external_id: `${copy}.tool.${toolIndex}.result`,
        created_at,
      };
      if (++emitted >= n) return;
    }
  }
}

function synthesisedTool(recent: BenchTurn[]): ToolPair {
  const last = recent[recent.length - 1]!;
  const query = last.content.split(/\s+/).slice(0, 6).join(' ');
  return {
    name: 'search_notes',
    arguments: JSON.stringify({ query, limit: 3 }),
    result: JSON.stringify({
      matches: recent.map((t) => ({ date: t.created_at.slice(0, 10), speaker: t.name, text: t.content })),
    }),
  };
}

/**
 * One user's history: `sessions` sessions of up to `perSession` consecutive turns of the endless session. A tool
 * call never ends a session (it moves to the next one, with its result), so a session may hold one turn fewer.
 */
export function* userSessions(corpus: Corpus, sessions: number, perSession: number): Generator<BenchTurn[]> {
  const stream = sessionTurns(corpus, sessions * perSession);
  let carried: BenchTurn | undefined;
  for (let s = 0; s < sessions; s++) {
    const turns: BenchTurn[] = carried ? [carried] : [];
    carried = undefined;
    while (turns.length < perSession) {
      const next = stream.next();
      if (next.done) break;
      turns.push(next.value);
    }
    if (turns.length > 1 && turns.at(-1)!.tool_calls?.length) carried = turns.pop();
    if (turns.length) yield turns;
  }
}

/** Batches of `size` turns, lazily, so the driver never holds a 100k-turn session in memory. */
export function* batches<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let batch: T[] = [];
  for (const item of items) {
    batch.push(item);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** How the in-process baselines render a turn: one line with its date and author, like the eval's baselines. */
export function baselineLine(t: BenchTurn): string {
  const calls = t.tool_calls?.length ? `calls ${t.tool_calls.map((c) => `${c.name}(${c.arguments})`).join(', ')}` : '';
  return `[${t.created_at.slice(0, 16).replace('T', ' ')}] ${t.name ?? t.role}: ${t.content}${calls}`;
}
