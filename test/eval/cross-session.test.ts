// LoCoMo across sessions: a three-session fixture run through `--cross-session` in-process, its sessions read back
// from the product's store; the leak check on crafted contexts; and the options the command refuses.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertIsolated, enforceBaseline, IsolationFailed } from '../../scripts/eval/gate.js';
import { runEval } from '../../scripts/eval/harness.js';
import { cli } from '../../scripts/eval/main.js';
import {
  formatSessionDate,
  locomoCrossSessionCase,
  parseConversation,
  parseSessionDate,
} from '../../scripts/eval/locomo.js';
import { countLeaks } from '../../scripts/eval/score.js';
import { crossSessionConversation as fixture, writeLocomoFolder } from '../fixtures/locomo.js';

interface StoredTurn {
  session_id: string;
  user_id: string | null;
  agent_id: string | null;
  role: string;
  name: string | null;
  content: string;
  external_id: string | null;
  created_at: string;
}

const questions = fixture.qa.filter((q) => q.category !== 5).map((q) => q.question);
const quiet = { stdout: () => undefined, stderr: () => undefined, tty: false };

describe('locomoCrossSessionCase', () => {
  const c = locomoCrossSessionCase(parseConversation(fixture, 'conv-c'));

  it("dates the question sessions one day after the last session, in the data's own form", () => {
    expect(formatSessionDate('2023-07-03T23:45:00.000Z')).toBe('11:45 pm on 3 July, 2023');
    expect(formatSessionDate('2023-01-09T00:05:00.000Z')).toBe('12:05 am on 9 January, 2023');
    expect(parseSessionDate(formatSessionDate('2024-12-31T12:00:00.000Z'))).toBe('2024-12-31T12:00:00.000Z');
  });

  it("counts the tagged turns of the other user as leaks, not the same question in this user's own turn", () => {
    const own =
      `Conversation excerpts, oldest first:\n<data source="history">\n[3 July 2023]\n` +
      `Mara: ${questions[1]}\n</data>\nReminder — current request: ${questions[1]}`;
    expect(countLeaks(own, c.foreign!)).toBe(0);
    const leaked = own.replace('</data>', `conv-c-other-user: ${questions[1]} [conv-c-other-user 2]\n</data>`);
    expect(countLeaks(leaked, c.foreign!)).toBe(1);
    // Two tagged turns, shown as content only (a summary or memory line): each counts.
    const summary = `${questions[0]} [conv-c-other-user 1]; ${questions[2]} [conv-c-other-user 3]`;
    expect(countLeaks(`${own}\n${summary}`, c.foreign!)).toBe(2);
    // A line cut short before its tag still names the other user.
    expect(countLeaks(`${own}\nconv-c-other-user: Where did Mara…`, c.foreign!)).toBe(1);
  });

  it('fails the run on any leak', () => {
    expect(() => assertIsolated({ leaks: 0 })).not.toThrow();
    expect(() => assertIsolated({ leaks: 2 })).toThrow(IsolationFailed);
  });

  it("counts leaks in the product rows when the other user's turns reach a context", async () => {
    // Broken isolation, staged: the other user's turns written into this user's first question session.
    const intoOwn = { session: 'conv-c-question-1', owner: undefined };
    const staged = { ...c, steps: c.steps.map((s) => ('foreign' in s && s.foreign ? { ...s, ...intoOwn } : s)) };
    const report = await runEval({ suite: 'locomo-cross-session', cases: [staged], budgets: [1000], categories: [] });
    const leaks = Object.fromEntries(report.results.map((r) => [r.method, r.leaks]));
    // Written into this user's own session, the other user's turns are recalled by every later question too.
    expect(leaks).toEqual({ product: 9, recency: 0, bm25: 0 });
    expect(report.meta.leaks).toBe(9);
    expect(() => assertIsolated(report.meta)).toThrow(IsolationFailed);
  }, 120_000);
});

describe('eval --cross-session on a three-session fixture', () => {
  let dir: string;
  let json: any;
  let stdout = '';
  let stderr = '';
  let gated = '';
  let turns: StoredTurn[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'locomo-cross-'));
    const data = await writeLocomoFolder(dir, fixture, 'conv-c');
    const out = path.join(dir, 'result.json');
    await cli(['--cross-session', '--data', data, '--budget', '80,1000', '--json', out], {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      tty: false,
      beforeClose: async (product) => {
        const rows = await product.deps.store.query<StoredTurn>(sql`
          SELECT t.session_id, s.user_id, s.agent_id, t.role, t.name, t.content, t.external_id, t.created_at
          FROM turns t JOIN sessions s ON s.tenant_id = t.tenant_id AND s.id = t.session_id
          ORDER BY t.session_id, t.sequence`);
        turns = rows.map((t) => ({ ...t, created_at: new Date(t.created_at).toISOString() }));
      },
    });
    json = JSON.parse(await readFile(out, 'utf8'));
    // The same run gated against its own output passes.
    await cli(['--cross-session', '--data', data, '--budget', '80,1000', '--baseline', out], {
      ...quiet,
      stdout: (t) => void (gated += t),
    });
  }, 180_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const sessionsOf = (user: string) => [...new Set(turns.filter((t) => t.user_id === user).map((t) => t.session_id))];
  const turnsOf = (session: string) => turns.filter((t) => t.session_id === session);

  it('writes each LoCoMo session as its own session of one user and agent, turns as in the LoCoMo protocol', () => {
    const user = sessionsOf('conv-c-user');
    const expected = [1, 2, 3].flatMap((n) => [`conv-c-session_${n}`, `conv-c-question-${n}`]);
    expect(user.sort()).toEqual(expected.sort());
    const agents = new Set(turns.filter((t) => t.user_id === 'conv-c-user').map((t) => t.agent_id));
    expect(agents).toEqual(new Set(['conv-c-agent']));
    for (const n of [1, 2, 3] as const) {
      const raw = fixture[`session_${n}`];
      const date = parseSessionDate(fixture[`session_${n}_date_time`]);
      expect(turnsOf(`conv-c-session_${n}`).map((t) => [t.role, t.name, t.external_id, t.created_at])).toEqual(
        raw.map((r) => [r.speaker === 'Mara' ? 'user' : 'assistant', r.speaker, r.dia_id, date]),
      );
    }
    const captioned = turnsOf('conv-c-session_1')[2]!.content;
    expect(captioned).toBe('It needed new strings. [photo: a photo of an old instrument]');
  });

  it('asks each question in a new session holding only that question, one day after the last session', () => {
    for (const [k, q] of questions.entries()) {
      expect(turnsOf(`conv-c-question-${k + 1}`)).toEqual([
        {
          session_id: `conv-c-question-${k + 1}`,
          user_id: 'conv-c-user',
          agent_id: 'conv-c-agent',
          role: 'user',
          name: 'Mara',
          content: q,
          external_id: null,
          created_at: '2023-07-03T23:45:00.000Z',
        },
      ]);
    }
  });

  it('gives another user of the same agent a session repeating every question', () => {
    expect(sessionsOf('conv-c-other-user')).toEqual(['conv-c-other-user-session']);
    const other = turnsOf('conv-c-other-user-session');
    expect(other.map((t) => t.agent_id)).toEqual(questions.map(() => 'conv-c-agent'));
    expect(other.map((t) => t.content)).toEqual(questions.map((q, k) => `${q} [conv-c-other-user ${k + 1}]`));
    // Nothing else was written: the conversation, the questions and the other user's session.
    expect(turns).toHaveLength(10 + 3 + 3);
  });

  it("scores the baselines over all the user's turns: BM25 finds session 1's evidence, recency cannot", () => {
    const row = (method: string, budget: number, category?: number) =>
      json.results.find((r: any) => r.method === method && r.budget === budget && r.category === category);
    expect(row('bm25', 80, 2)).toMatchObject({ questions: 1, evidence_recall: 1, all_evidence: 1, answer_hit: 1 });
    expect(row('recency', 80, 2)).toMatchObject({ questions: 1, evidence_recall: 0 });
    // At 1000 tokens every turn of the user fits.
    expect(row('recency', 1000)).toMatchObject({ questions: 3, evidence_recall: 1, over_budget: 0 });
  });

  it('reports leaks beside every score, in the table and the JSON, and runs under its own baseline', () => {
    expect(json.meta).toMatchObject({ suite: 'locomo-cross-session', questions: 3, turns: 10, leaks: 0 });
    const overall = json.results.filter((r: any) => r.category === undefined);
    expect(overall.map((r: any) => `${r.method}@${r.budget}:${r.leaks}`)).toEqual([
      'product@80:0',
      'recency@80:0',
      'bm25@80:0',
      'product@1000:0',
      'recency@1000:0',
      'bm25@1000:0',
    ]);
    for (const r of overall) expect(r.over_budget).toBe(0);
    expect(stdout).toContain('LoCoMo across sessions from');
    expect(stdout).toContain('isolation: 0 turns of another user');
    expect(stdout).toMatch(/\| over budget \| leaks \| p50 ms \| p95 ms \|/);
    expect(stdout).toMatch(/\| product \| all +\| +3 \| .* \| +0 \| +0 \| /);
    expect(stderr).toContain('conversation 1/1 conv-c');
    // One progress line per question would flood the log: the question writes are quiet.
    expect(stderr.split('\n').filter((l) => l.includes(' ingest ')).length).toBeLessThanOrEqual(4);
    expect(gated).toMatch(/Regression gate: \d+ baseline rows, every score within 0.02/);
  });
});

describe('eval --cross-session options', () => {
  it('refuses to run with another suite', async () => {
    await expect(cli(['--cross-session', '--suite', 'tau'], quiet)).rejects.toThrow(
      /--cross-session .* cannot be combined with --suite tau/,
    );
  });

  it('refuses a baseline written by another protocol', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cross-gate-'));
    try {
      const file = path.join(dir, 'locomo.json');
      await writeFile(file, JSON.stringify({ results: [], meta: { suite: 'locomo' } }));
      const current = { results: [], meta: { suite: 'locomo-cross-session' } };
      await expect(enforceBaseline(file, current, '0.02', quiet)).rejects.toThrow(/meta\.suite is not this run's/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
