// LoCoMo conversations as plain data: sessions in order with their date, turns with the exact content string that
// is written to the product (and later searched for verbatim), and the scorable questions.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { limits } from '../../src/config/tuning.js';
import { baselineLine } from './baselines.js';
import type { CaseStep, EvalCase, Probe, WriteStep } from './harness.js';
import { monthNames } from '../../src/pipeline/retriever/temporal.js';

export interface Turn {
  diaId: string;
  speaker: string;
  /** The text plus ` [photo: <caption>]` when the turn shared an image: what is written and what must appear. */
  content: string;
  /** The session's date/time as written in the data ("1:56 pm on 8 May, 2023"). */
  sessionDate: string;
  /** The same instant as ISO 8601 UTC. */
  createdAt: string;
}

export interface Session {
  index: number;
  dateTime: string;
  createdAt: string;
  turns: Turn[];
}

export interface Question {
  question: string;
  answer: string;
  category: number;
  /** Evidence dia_ids that exist in the conversation, in the order given. */
  evidence: string[];
  /** Evidence entries that name no turn of the conversation (typos such as "D:11:26"). */
  missingEvidence: string[];
}

export interface Conversation {
  name: string;
  speakerA: string;
  speakerB: string;
  sessions: Session[];
  turns: Turn[];
  /** Categories 1–4 with at least one resolvable evidence turn; category 5 (adversarial) is never scored. */
  questions: Question[];
  /** Questions of category 1–4 left out because none of their evidence names a turn here. */
  unscorable: number;
}

/** A UTC instant from its parts; a day that does not exist (31 June) is a data error, not a date. */
function utcInstant(text: string, year: number, month: number, day: number, hour = 0, minute = 0, second = 0): string {
  if (hour > 23 || minute > 59 || second > 59) throw new Error(`invalid time in session date: ${JSON.stringify(text)}`);
  const date = new Date(Date.UTC(year, month, day, hour, minute, second));
  // Date.UTC rolls 31 June over to 1 July.
  if (month < 0 || month > 11 || date.getUTCDate() !== day)
    throw new Error(`invalid day in session date: ${JSON.stringify(text)}`);
  return date.toISOString();
}

/**
 * A session's date as a UTC instant. LoCoMo's own form ("1:56 pm on 8 May, 2023"), an ISO 8601 date or date-time
 * ("2023-05-08", "2023-05-08 13:56", "2023-05-08T13:56:00+02:00") and the slashed form of other chat sets
 * ("2023/05/08 (Mon) 13:56"); without a zone it is read as UTC. Anything else is an error, never a guess.
 */
export function parseSessionDate(text: string): string {
  const t = text.trim();
  const iso = t.match(/^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i);
  if (iso) {
    const [, y, mo, d, h = '0', mi = '0', sec = '0', zone] = iso as unknown as string[];
    const utc = utcInstant(text, Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
    if (!zone || zone.toUpperCase() === 'Z') return utc;
    const [, sign, zh, zm] = zone.match(/^([+-])(\d{2}):?(\d{2})$/)!;
    const offset = (sign === '-' ? -1 : 1) * (Number(zh) * 60 + Number(zm)) * 60_000;
    return new Date(Date.parse(utc) - offset).toISOString();
  }
  const slashed = t.match(/^(\d{4})\/(\d{1,2})\/(\d{1,2})(?:\s*\([A-Za-z]{2,}\))?(?:\s+(\d{1,2}):(\d{2}))?$/);
  if (slashed) {
    const [, y, mo, d, h = '0', mi = '0'] = slashed as unknown as string[];
    return utcInstant(text, Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi));
  }
  const m = t.match(/^(\d{1,2}):(\d{2})\s*([ap])\.?m\.?\s+on\s+(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})$/i);
  if (!m) throw new Error(`unrecognised session date: ${JSON.stringify(text)}`);
  const [, h, min, ampm, day, monthName, year] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const month = monthNames.findIndex((name) => monthName.length >= 3 && name.startsWith(monthName.toLowerCase()));
  if (month < 0) throw new Error(`unrecognised month in session date: ${JSON.stringify(text)}`);
  const hour12 = Number(h);
  if (hour12 < 1 || hour12 > 12) throw new Error(`invalid time in session date: ${JSON.stringify(text)}`);
  const hour = (hour12 % 12) + (ampm.toLowerCase() === 'p' ? 12 : 0);
  return utcInstant(text, Number(year), month, Number(day), hour, Number(min));
}

/** The inverse of parseSessionDate: an ISO instant in the data's own form, for lines the baselines render. */
export function formatSessionDate(iso: string): string {
  const d = new Date(iso);
  const h = d.getUTCHours();
  const month = monthNames[d.getUTCMonth()]!;
  const time = `${h % 12 || 12}:${String(d.getUTCMinutes()).padStart(2, '0')} ${h < 12 ? 'am' : 'pm'}`;
  return `${time} on ${d.getUTCDate()} ${month[0]!.toUpperCase()}${month.slice(1)}, ${d.getUTCFullYear()}`;
}

export function turnContent(text: string, caption?: unknown): string {
  const c = typeof caption === 'string' ? caption.trim() : '';
  if (!c) return text;
  return text ? `${text} [photo: ${c}]` : `[photo: ${c}]`;
}

type Raw = Record<string, unknown>;

/** One conversation from either the trimmed form (keys at the top) or the original `{conversation, qa}` form. */
export function parseConversation(raw: Raw, name: string): Conversation {
  const body: Raw =
    raw.conversation && typeof raw.conversation === 'object' ? { ...(raw.conversation as Raw), qa: raw.qa } : raw;
  const sessionKeys = Object.keys(body)
    .map((k) => k.match(/^session_(\d+)$/))
    .filter((m): m is RegExpMatchArray => !!m && Array.isArray(body[m[0]]))
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (sessionKeys.length === 0 || !Array.isArray(body.qa))
    throw new Error(`${name}: not a LoCoMo conversation (no session_N or qa)`);

  const sessions: Session[] = [];
  const turns: Turn[] = [];
  // Each turn is written with a distinct external id: evidence names the first turn holding an id; a later turn that
  // repeats it, or one without any, gets an id of its own (`D3:4#2`, `session_3#5`), so no turn is lost.
  const ids = new Set<string>();
  const distinct = (id: string) => {
    let unique = id;
    for (let k = 2; ids.has(unique); k++) unique = `${id}#${k}`;
    ids.add(unique);
    return unique;
  };
  for (const index of sessionKeys) {
    const dateTime = body[`session_${index}_date_time`];
    if (typeof dateTime !== 'string') throw new Error(`${name}: session_${index} has no session_${index}_date_time`);
    const createdAt = parseSessionDate(dateTime);
    const sessionTurns: Turn[] = [];
    for (const [k, t] of (body[`session_${index}`] as Raw[]).entries()) {
      const content = turnContent(String(t.text ?? ''), t.blip_caption);
      if (!content.trim()) continue;
      const given = t.dia_id === undefined || t.dia_id === null ? '' : String(t.dia_id).trim();
      const id = given || `session_${index}#${k + 1}`;
      sessionTurns.push({
        diaId: distinct(id),
        speaker: String(t.speaker),
        content,
        sessionDate: dateTime,
        createdAt,
      });
    }
    if (sessionTurns.length === 0) continue;
    sessions.push({ index, dateTime, createdAt, turns: sessionTurns });
    turns.push(...sessionTurns);
  }

  const known = new Set(turns.map((t) => t.diaId));
  const questions: Question[] = [];
  let unscorable = 0;
  for (const q of body.qa as Raw[]) {
    const category = Number(q.category);
    if (!(category >= 1 && category <= 4)) continue;
    // A question with no text cannot be asked.
    if (typeof q.question !== 'string' || !q.question.trim()) {
      unscorable += 1;
      continue;
    }
    const listed = Array.isArray(q.evidence) ? q.evidence.map(String) : [];
    const evidence = [...new Set(listed.filter((id) => known.has(id)))];
    const missingEvidence = listed.filter((id) => !known.has(id));
    if (evidence.length === 0) {
      unscorable += 1;
      continue;
    }
    questions.push({
      question: q.question,
      answer: String(q.answer ?? ''),
      category,
      evidence,
      missingEvidence,
    });
  }

  const speakerA = typeof body.speaker_a === 'string' ? body.speaker_a : turns[0]!.speaker;
  const speakerB =
    typeof body.speaker_b === 'string'
      ? body.speaker_b
      : (turns.find((t) => t.speaker !== speakerA)?.speaker ?? speakerA);
  return { name, speakerA, speakerB, sessions, turns, questions, unscorable };
}

/** Every *.json in the folder (sorted by name); a file may hold one conversation or an array of them. */
export async function loadFolder(dir: string): Promise<Conversation[]> {
  const files = (await readdir(dir)).filter((f) => f.toLowerCase().endsWith('.json')).sort();
  if (files.length === 0) throw new Error(`no .json files in ${dir}`);
  const out: Conversation[] = [];
  for (const file of files) {
    const data = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as Raw | Raw[];
    const base = file.replace(/\.json$/i, '');
    if (Array.isArray(data)) {
      data.forEach((item, i) =>
        out.push(parseConversation(item, typeof item.sample_id === 'string' ? item.sample_id : `${base}#${i + 1}`)),
      );
    } else {
      out.push(parseConversation(data, base));
    }
  }
  return out;
}

/** Command-line options the LoCoMo study tools share (eval:diagnose, eval:sweep), for node:util parseArgs. */
export const studyOptions = {
  data: { type: 'string' },
  budget: { type: 'string', default: '2000,4000' },
  'limit-conversations': { type: 'string' },
} as const;

/** The conversations `studyOptions` name: the folder (default the shared LoCoMo set), its first N if limited. */
export async function studyConversations(values: {
  data?: string;
  'limit-conversations'?: string;
}): Promise<Conversation[]> {
  const convs = await loadFolder(path.resolve(values.data ?? '../shared/benchmarks/locomo'));
  const limit = values['limit-conversations'];
  return limit ? convs.slice(0, Number(limit)) : convs;
}

/**
 * The LoCoMo protocol as harness steps: one write per session (several for a very long one), in order, each turn
 * stamped with its session's date; then every scorable question. Both people are humans; speaker_a is written as
 * `user` and speaker_b as `assistant` so the conversation keeps its two sides, and `name` carries who spoke.
 */
export function locomoCase(conv: Conversation): EvalCase {
  // A session longer than one write request allows is written in several, in order.
  const parts = conv.sessions.flatMap((s) =>
    Array.from({ length: Math.ceil(s.turns.length / limits.turnsPerBatch) }, (_, k) => ({
      index: s.index,
      turns: s.turns.slice(k * limits.turnsPerBatch, (k + 1) * limits.turnsPerBatch),
    })),
  );
  const steps: CaseStep[] = parts.map((s) => ({
    label: `session_${s.index}`,
    write: s.turns.map((t) => ({
      write: {
        role: t.speaker === conv.speakerA ? ('user' as const) : ('assistant' as const),
        content: t.content,
        name: t.speaker,
        external_id: t.diaId,
        created_at: t.createdAt,
      },
      baseline: { line: baselineLine(t), text: t.content },
    })),
  }));
  const contentOf = new Map(conv.turns.map((t) => [t.diaId, t.content]));
  for (const q of conv.questions) {
    steps.push({
      probe: {
        query: q.question,
        expected: q.evidence.map((id) => contentOf.get(id)!),
        answer: q.answer,
        category: q.category,
      },
    });
  }
  return {
    name: conv.name,
    sessionId: `locomo-${conv.name}`,
    steps,
    turns: conv.turns.length,
    sessions: conv.sessions.length,
    missingExpected: conv.questions.reduce((n, q) => n + q.missingEvidence.length, 0),
    unscorable: conv.unscorable,
  };
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * LoCoMo across sessions as harness steps. One user and one agent per conversation: each LoCoMo session is a product
 * session of its own (written as in `locomoCase`), then each question comes in a new session of theirs, dated one day
 * after the last session and holding only the question, as speaker_a's turn. Before the questions, another user of
 * the same agent writes one session repeating every question, each turn tagged: any of it in this user's context is
 * a leak. The baselines see every turn of this user, question sessions included, and none of the other user's.
 */
export function locomoCrossSessionCase(conv: Conversation): EvalCase {
  const base = locomoCase(conv);
  const id = conv.name.replace(/[^A-Za-z0-9._:@-]/g, '-');
  const owner = { user_id: `${id}-user`, agent_id: `${id}-agent` };
  const marker = `${id}-other-user`;
  const steps: CaseStep[] = base.steps
    .filter((s): s is WriteStep => 'write' in s)
    .map((s) => ({ ...s, session: `${id}-${s.label}`, owner }));

  const createdAt = new Date(Date.parse(conv.sessions.at(-1)!.createdAt) + DAY_MS).toISOString();
  const sessionDate = formatSessionDate(createdAt);
  const tags = conv.questions.map((_, k) => `[${marker} ${k + 1}]`);
  const decoy = conv.questions.map((q, k) => {
    const content = `${q.question} ${tags[k]}`;
    return {
      write: { role: 'user' as const, content, name: marker, created_at: createdAt },
      baseline: { line: baselineLine({ diaId: '', speaker: marker, content, sessionDate, createdAt }), text: content },
    };
  });
  const other = { ...owner, user_id: marker };
  for (let k = 0; k < decoy.length; k += limits.turnsPerBatch) {
    const write = decoy.slice(k, k + limits.turnsPerBatch);
    steps.push({ label: 'another user', session: `${marker}-session`, owner: other, foreign: true, write });
  }

  const probes = base.steps.filter((s): s is { probe: Probe } => 'probe' in s);
  for (const [k, { probe }] of probes.entries()) {
    const session = `${id}-question-${k + 1}`;
    const turn = { diaId: `Q${k + 1}`, speaker: conv.speakerA, content: probe.query!, sessionDate, createdAt };
    steps.push({
      label: `question ${k + 1}`,
      session,
      owner,
      quiet: true,
      write: [
        {
          write: { role: 'user', content: turn.content, name: turn.speaker, created_at: createdAt },
          baseline: { line: baselineLine(turn), text: turn.content },
        },
      ],
    });
    steps.push({ probe: { ...probe, session } });
  }
  return { ...base, steps, foreign: { marker, tags } };
}
