// τ-bench trajectories as harness steps: every message but the system policy written in order, tool calls and results
// linked by id; each scored step (a tool call needing values only tools revealed) queries the latest user message.
import { readFile } from 'node:fs/promises';
import type { CaseStep, EvalCase, EvalTurn } from './harness.js';
import type { WriteTurn } from './product.js';

type Raw = Record<string, unknown>;

export interface TauCall {
  id: string;
  name: string;
  /** JSON text as the model produced it. */
  arguments: string;
}

export interface TauMessage {
  role: 'user' | 'assistant' | 'tool';
  content: string;
  toolCalls?: TauCall[];
  toolCallId?: string;
  name?: string;
}

/** String leaves of a JSON value, depth first, in document order. */
export function stringLeaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringLeaves);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringLeaves);
  return [];
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The protocol's required values of a step: string leaves of its calls' arguments that contain a digit, are at least
 * 4 characters long, occur in an earlier tool result and in no earlier user message. Each value counts once.
 */
export function requiredValues(calls: TauCall[], toolResults: string[], userMessages: string[]): string[] {
  const out = new Set<string>();
  for (const c of calls) {
    for (const v of stringLeaves(parseArguments(c.arguments))) {
      if (v.length < 4 || !/\d/.test(v)) continue;
      if (toolResults.some((r) => r.includes(v)) && !userMessages.some((u) => u.includes(v))) out.add(v);
    }
  }
  return [...out];
}

/** The message as one line of text for the baselines: `role: content`, calls as `→ name(arguments)`. */
export function messageLine(m: TauMessage): string {
  if (m.role === 'tool') return `tool ${m.name ?? ''}: ${m.content}`;
  const calls = m.toolCalls?.length ? ` → ${m.toolCalls.map((c) => `${c.name}(${c.arguments})`).join(', ')}` : '';
  return `${m.role}: ${m.content}${calls}`;
}

function toWrite(m: TauMessage, index: number): WriteTurn {
  const w: WriteTurn = { role: m.role, content: m.content, external_id: `m${index}` };
  if (m.toolCalls?.length) w.tool_calls = m.toolCalls;
  if (m.role === 'tool') {
    w.tool_call_id = m.toolCallId!;
    if (m.name) w.name = m.name;
  }
  return w;
}

/** A message's text: a string, or the text parts of a list of content parts, joined by a line break. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .flatMap((p) =>
      p && typeof p === 'object' && typeof (p as Raw).text === 'string' ? [(p as Raw).text as string] : [],
    )
    .join('\n');
}

/** OpenAI-style messages, the system message left out. */
export function parseMessages(traj: unknown, name: string): TauMessage[] {
  if (!Array.isArray(traj)) throw new Error(`${name}: traj is not a message list`);
  const out: TauMessage[] = [];
  for (const [i, raw] of (traj as Raw[]).entries()) {
    const role = raw.role;
    if (role === 'system') continue;
    const content = textOf(raw.content);
    if (role === 'user') out.push({ role, content });
    else if (role === 'assistant') {
      const calls = Array.isArray(raw.tool_calls)
        ? (raw.tool_calls as Raw[]).map((c, k) => {
            const fn = (c.function ?? c) as Raw;
            const args = fn.arguments;
            return {
              id: typeof c.id === 'string' && c.id ? c.id : `${name}-call-${i}-${k}`,
              // A call is written with a name: one the run left empty is called `tool`.
              name: typeof fn.name === 'string' && fn.name ? fn.name : 'tool',
              arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
            };
          })
        : [];
      out.push(calls.length ? { role, content, toolCalls: calls } : { role, content });
    } else if (role === 'tool') {
      if (typeof raw.tool_call_id !== 'string')
        throw new Error(`${name}: message ${i} is a tool result without tool_call_id`);
      out.push({
        role,
        content,
        toolCallId: raw.tool_call_id,
        ...(typeof raw.name === 'string' ? { name: raw.name } : {}),
      });
    } else throw new Error(`${name}: message ${i} has unknown role ${JSON.stringify(role)}`);
  }
  return out;
}

/**
 * One trajectory as harness steps. Messages before a scored step are written in one batch, then the step is probed;
 * the step itself is written afterwards, like every other message. User and assistant messages without text or
 * calls are skipped (the write API takes no empty turns).
 */
export function tauCase(messages: TauMessage[], name: string): EvalCase {
  const steps: CaseStep[] = [];
  let batch: EvalTurn[] = [];
  const toolResults: string[] = [];
  const users: string[] = [];
  let lastUser: string | undefined;
  let turns = 0;
  const flush = () => {
    if (batch.length) steps.push({ write: batch, label: `before message ${turns - batch.length + 1}` });
    batch = [];
  };
  for (const [i, m] of messages.entries()) {
    if (m.role === 'assistant' && m.toolCalls?.length) {
      const expected = requiredValues(m.toolCalls, toolResults, users);
      if (expected.length) {
        flush();
        steps.push({ probe: { query: lastUser, expected } });
      }
    }
    // The write API takes no empty turn but a tool's: such a user or assistant message says nothing and is skipped.
    if (m.role !== 'tool' && !m.content.trim() && !m.toolCalls?.length) continue;
    batch.push({ write: toWrite(m, i), baseline: { line: messageLine(m), text: messageLine(m) } });
    turns += 1;
    if (m.role === 'tool') toolResults.push(m.content);
    if (m.role === 'user') {
      users.push(m.content);
      lastUser = m.content;
    }
  }
  flush();
  return { name, sessionId: `tau-${name}`, steps, turns, sessions: 1, missingExpected: 0, unscorable: 0 };
}

/** A JSON file holding an array of `{ task_id?, trial?, traj }` items (or one such item). */
export async function loadTrajectories(file: string): Promise<EvalCase[]> {
  const data = JSON.parse(await readFile(file, 'utf8')) as Raw | Raw[];
  const items = Array.isArray(data) ? data : [data];
  // Each trajectory is a session of its own: a name that repeats (the same task and trial twice) gets a suffix.
  const used = new Set<string>();
  return items.map((item, i) => {
    const base =
      item.task_id !== undefined ? `task${String(item.task_id)}-trial${String(item.trial ?? i)}` : `traj${i + 1}`;
    let name = base;
    for (let k = 2; used.has(name); k++) name = `${base}-${k}`;
    used.add(name);
    return tauCase(parseMessages(item.traj, name), name);
  });
}
