// Long-term memory: one user's history of many sessions with one agent, then each question asked from a new session
// of that user holding only the question; QueryContext there, beside in-process BM25 over the same turns.
import { setImmediate } from 'node:timers/promises';
import { createApiKey } from '../../src/services/auth.js';
import { refreshStatistics, statisticsBeat } from '../../src/services/maintenance.js';
import { getTokenizer } from '../../src/tokenizer.js';
import { bm25Context } from '../eval/baselines.js';
import { baselineIndex, warmUpBaseline } from './baselines.js';
import { userSessions, type BenchTurn, type Corpus } from './data.js';
import { call, startProduct, warmUp, type ProductOptions, type Running } from './product.js';
import { result, type Case, type Metric, type Result } from './report.js';
import { cpuMs, peakRssMb, percentile, rssMb } from './stats.js';

/** `sessions` sessions of `turns` turns each. */
export interface UserShape {
  sessions: number;
  turns: number;
}

export interface UserOptions {
  corpus: Corpus;
  user: UserShape;
  /** Distinct questions, each from a session of its own. */
  queries: number;
  /** Queries on a throw-away session before any measurement (see warmUp). */
  warmUpQueries: number;
  budget: number;
  database?: string | undefined;
  redis?: string | undefined;
  logLevel?: ProductOptions['logLevel'];
  log: (line: string) => void;
}

export const USER_ID = 'bench-user';
export const AGENT_ID = 'bench-agent';
const DAY_MS = 86_400_000;
const PROGRESS_MS = 5_000;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** `1000x100` (or `1000×100`, `1kx100`) → 1,000 sessions of 100 turns. */
export function parseUserShape(text: string): UserShape {
  const m = /^\s*(\d+k?)\s*[x×]\s*(\d+)\s*$/i.exec(text.replace(/_/g, ''));
  const n = (s: string) => (/k$/i.test(s) ? Number(s.slice(0, -1)) * 1000 : Number(s));
  const shape = m ? { sessions: n(m[1]!), turns: n(m[2]!) } : undefined;
  if (!shape || !(shape.sessions > 0 && shape.turns > 0))
    throw new Error(`--user must be <sessions>x<turns>, got ${JSON.stringify(text)}`);
  return shape;
}

/** The `turns` of the user case's rows: its nominal size, sessions × turns per session. */
export const userSize = (u: UserShape) => u.sessions * u.turns;
const fmt = (x: number) => x.toLocaleString('en-US');
const labelOf = (u: UserShape) => `user ${fmt(u.sessions)}×${fmt(u.turns)}`;

/**
 * Distinct turns of the user's other sessions in an answer's envelope (its budget report aside), wherever they are
 * placed: items whose id is such a turn's id (or contains it), or whose content is such a turn's content.
 */
export function recalledTurns(envelope: unknown, ids: ReadonlySet<string>, contents: ReadonlySet<string>): number {
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) visit(x);
      return;
    }
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    const id = typeof o.id === 'string' ? o.id : undefined;
    const content = typeof o.content === 'string' ? o.content : undefined;
    const byId = id !== undefined && (ids.has(id) || (id.match(UUID) ?? []).some((x) => ids.has(x.toLowerCase())));
    if (byId || (content !== undefined && contents.has(content))) found.add(id ?? `content:${content}`);
    for (const [k, x] of Object.entries(o)) if (k !== 'budget_report') visit(x);
  };
  visit(envelope);
  return found.size;
}

interface History {
  /** Ids and contents of the turns written, to recognise them in answers. */
  ids: Set<string>;
  contents: Set<string>;
  written: number;
  sessions: number;
  lastCreatedAt: string;
}

/** The question turn of the k-th new session: the user asking, a day after the history ends. */
export function questionTurn(question: string, k: number, lastCreatedAt: string): BenchTurn {
  return {
    role: 'user',
    content: question,
    external_id: `q${k + 1}`,
    created_at: new Date(Date.parse(lastCreatedAt) + DAY_MS).toISOString(),
  };
}

/** Latency, CPU and recall rows of one case's answers, with a summary line on stderr. */
function answerRows(c: Case, o: UserOptions, a: { ms: number[]; cpu: number[]; recalled: number[] }): Result[] {
  const size = userSize(o.user);
  const rows: [Metric, number][] = [
    ['user_query_p50_ms', percentile(a.ms, 50)],
    ['user_query_p95_ms', percentile(a.ms, 95)],
    ['user_query_p99_ms', percentile(a.ms, 99)],
    ['user_query_cpu_p50_ms', percentile(a.cpu, 50)],
    ['user_query_cpu_p95_ms', percentile(a.cpu, 95)],
    ['user_recalled_turns', a.recalled.reduce((s, x) => s + x, 0) / a.recalled.length],
    ['user_recall_answers_pct', (100 * a.recalled.filter((x) => x > 0).length) / a.recalled.length],
    ['user_peak_rss_mb', peakRssMb()],
  ];
  const total = a.recalled.reduce((s, x) => s + x, 0);
  const holding = a.recalled.filter((x) => x > 0).length;
  o.log(
    `${c} ${labelOf(o.user)}: new-session query p50 ${percentile(a.ms, 50).toFixed(1)} ms, p95 ` +
      `${percentile(a.ms, 95).toFixed(1)} ms (CPU p50 ${percentile(a.cpu, 50).toFixed(1)} ms); the answers held ` +
      `${fmt(total)} turns of the user's other sessions (${holding} of ${a.recalled.length} answers any)` +
      (total === 0 ? ' — no recall across sessions: this is not the long-term memory case yet' : ''),
  );
  return rows.map(([metric, value]) => result(c, size, metric, value));
}

/** The product: the user's sessions written through its write path, then a new session per question. */
export async function runUserProduct(o: UserOptions): Promise<Result[]> {
  const running = await startProduct({ database: o.database, redis: o.redis, logLevel: o.logLevel });
  const stopStatistics = statisticsBeat(running.deps, { analyzed: () => undefined, failed: () => undefined });
  const size = userSize(o.user);
  const out: Result[] = [];
  try {
    const { key } = await createApiKey(running.deps, { tenantId: `bench-${crypto.randomUUID().slice(0, 8)}` });
    await warmUp(running, key, o);
    const started = performance.now();
    const history = await writeHistory(running, key, o);
    const writeMs = performance.now() - started;
    await running.deps.queue.drain();
    const buildMs = performance.now() - started;
    // What the server's maintenance sweep does within a minute of the writes: planner statistics for the new rows.
    await refreshStatistics(running.deps);
    if (running.deps.queue.deadLetters.length)
      throw new Error(
        `${running.deps.queue.deadLetters.length} background jobs failed: ${running.deps.queue.deadLetters[0]!.error}`,
      );
    out.push(result('product', size, 'user_write_turns_per_s', history.written / (writeMs / 1000)));
    out.push(result('product', size, 'user_build_s', buildMs / 1000));
    o.log(
      `product ${labelOf(o.user)}: ${history.sessions.toLocaleString('en-US')} sessions, ` +
        `${history.written.toLocaleString('en-US')} turns built in ${(buildMs / 1000).toFixed(1)} s ` +
        `(writes ${(writeMs / 1000).toFixed(1)} s); asking from new sessions`,
    );
    out.push(...answerRows('product', o, await askFromNewSessions(running, key, o, history)));
    // A shared PostgreSQL keeps no bench data behind; deleting goes through the product too.
    if (o.database) {
      await call(running.app, key, 'DELETE', `/v1/users/${USER_ID}`);
      await call(running.app, key, 'DELETE', '/v1/sessions/bench-warmup');
    }
  } finally {
    stopStatistics();
    await running.close();
  }
  return out;
}

async function writeHistory(running: Running, key: string, o: UserOptions): Promise<History> {
  const h: History = { ids: new Set(), contents: new Set(), written: 0, sessions: 0, lastCreatedAt: '' };
  const started = performance.now();
  let lastLog = started;
  for (const turns of userSessions(o.corpus, o.user.sessions, o.user.turns)) {
    await setImmediate(); // between requests, as between two I/O events (see buildSession)
    const body = { turns, user_id: USER_ID, agent_id: AGENT_ID };
    const r = await call(running.app, key, 'POST', `/v1/sessions/bench-user-s${h.sessions + 1}/turns`, body);
    if (r.status !== 201) throw new Error(`write failed (${r.status}): ${JSON.stringify(r.json).slice(0, 500)}`);
    for (const t of r.json.turns as { id: string }[]) h.ids.add(t.id);
    for (const t of turns) if (t.content) h.contents.add(t.content);
    h.written += turns.length;
    h.sessions += 1;
    h.lastCreatedAt = turns.at(-1)!.created_at;
    const now = performance.now();
    if (now - lastLog > PROGRESS_MS) {
      lastLog = now;
      const rate = h.written / ((now - started) / 1000);
      const eta = (userSize(o.user) - h.written) / rate;
      o.log(
        `product ${labelOf(o.user)}: ${fmt(h.sessions)}/${fmt(o.user.sessions)} sessions written · ` +
          `${fmt(h.written)} turns · ${fmt(Math.round(rate))} ` +
          `turns/s · rss ${Math.round(rssMb())} MB · ~${Math.round(eta)} s left`,
      );
    }
  }
  return h;
}

async function askFromNewSessions(running: Running, key: string, o: UserOptions, h: History) {
  const a = { ms: [] as number[], cpu: [] as number[], recalled: [] as number[] };
  const questions = o.corpus.questions.slice(0, o.queries);
  let lastLog = performance.now();
  for (const [k, q] of questions.entries()) {
    const sessionId = `bench-user-q${k + 1}`;
    const body = { turns: [questionTurn(q, k, h.lastCreatedAt)], user_id: USER_ID, agent_id: AGENT_ID };
    const w = await call(running.app, key, 'POST', `/v1/sessions/${sessionId}/turns`, body);
    if (w.status !== 201)
      throw new Error(`question write failed (${w.status}): ${JSON.stringify(w.json).slice(0, 500)}`);
    // The write's background jobs finish first, so what is timed is QueryContext alone, as in the other cases.
    await running.deps.queue.drain();
    await setImmediate();
    const cpu0 = cpuMs();
    const t0 = performance.now();
    const r = await call(running.app, key, 'POST', `/v1/sessions/${sessionId}/context`, {
      query: q,
      budget_tokens: o.budget,
    });
    a.ms.push(performance.now() - t0);
    a.cpu.push(cpuMs() - cpu0);
    if (r.status !== 200) throw new Error(`QueryContext failed (${r.status}): ${JSON.stringify(r.json).slice(0, 500)}`);
    if (r.json.cached === true) throw new Error('a first-time query was answered from the cache');
    if (r.json.token_count > o.budget)
      throw new Error(`a context of ${r.json.token_count} tokens for a ${o.budget}-token budget`);
    a.recalled.push(recalledTurns(r.json.envelope, h.ids, h.contents));
    if (performance.now() - lastLog > PROGRESS_MS) {
      lastLog = performance.now();
      o.log(
        `product ${labelOf(o.user)}: ${k + 1}/${questions.length} questions asked · ` +
          `p50 so far ${percentile(a.ms, 50).toFixed(1)} ms`,
      );
    }
  }
  return a;
}

/** BM25 over every turn of the user's sessions, in process, packed into the same budget by the eval's own code. */
export async function runUserBaseline(o: UserOptions): Promise<Result[]> {
  const tok = await getTokenizer();
  const count = (text: string) => tok.count(text);
  const size = userSize(o.user);
  // Generating the sessions is the input arriving, not indexing: it stays outside the timed part.
  const turns = [...userSessions(o.corpus, o.user.sessions, o.user.turns)].flat();
  warmUpBaseline('bm25', o, count);
  const t0 = performance.now();
  const index = baselineIndex('bm25', turns, count);
  const buildMs = performance.now() - t0;
  const out = [
    result('bm25', size, 'user_write_turns_per_s', turns.length / (buildMs / 1000)),
    result('bm25', size, 'user_build_s', buildMs / 1000),
  ];
  const a = { ms: [] as number[], cpu: [] as number[], recalled: [] as number[] };
  for (const q of o.corpus.questions.slice(0, o.queries)) {
    const c = cpuMs();
    const s = performance.now();
    const packed = bm25Context(index, q, o.budget, count);
    a.ms.push(performance.now() - s);
    a.cpu.push(cpuMs() - c);
    if (packed.tokens > o.budget)
      throw new Error(`bm25 packed ${packed.tokens} tokens into a ${o.budget}-token budget`);
    a.recalled.push(packed.kept.length);
  }
  return [...out, ...answerRows('bm25', o, a)];
}
