// End to end: a tiny synthetic LoCoMo conversation in a temp folder, run through the eval command in-process.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEvalCli } from './run-cli.js';
import { locomoConversation, writeLocomoFolder } from '../fixtures/locomo.js';

const conversation = {
  ...locomoConversation,
  qa: [
    ...locomoConversation.qa.slice(0, 2),
    { question: 'What did Nora make?', answer: 'a bowl and two mugs', evidence: ['D1:3', 'D2:2', 'D:7'], category: 3 },
    { question: 'What did Ivo paint?', adversarial_answer: 'a mug', evidence: ['D2:3'], category: 5 },
  ],
};

describe('eval command on a synthetic conversation', () => {
  let dir: string;
  let json: any;
  let stdout = '';
  let stderr = '';
  let details = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'locomo-eval-'));
    const data = await writeLocomoFolder(dir, conversation);
    const out = path.join(dir, 'out', 'result.json');
    details = path.join(dir, 'out', 'answers.jsonl');
    ({ stdout, stderr, json } = await runEvalCli(['--data', data, '--budget', '120,1000', '--details', details], out));
  }, 180_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes one overall row per method and budget with fractions and latencies', () => {
    const overall = json.results.filter((r: any) => r.category === undefined);
    expect(overall.map((r: any) => `${r.method}@${r.budget}`)).toEqual([
      'product@120',
      'recency@120',
      'bm25@120',
      'product@1000',
      'recency@1000',
      'bm25@1000',
    ]);
    for (const r of overall) {
      expect(Object.keys(r).sort()).toEqual(
        [
          'all_evidence',
          'answer_hit',
          'budget',
          'evidence_recall',
          'method',
          'over_budget',
          'p50_ms',
          'p95_ms',
          'questions',
        ].sort(),
      );
      expect(r.questions).toBe(3);
      for (const k of ['evidence_recall', 'all_evidence', 'answer_hit']) {
        expect(r[k]).toBeGreaterThanOrEqual(0);
        expect(r[k]).toBeLessThanOrEqual(1);
      }
      expect(r.over_budget).toBe(0);
      expect(r.p95_ms).toBeGreaterThanOrEqual(r.p50_ms);
    }
  });

  it('writes each product answer with --details, and their recall averages to the report', async () => {
    const lines = (await readFile(details, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3 * 2);
    expect(stderr).toContain(`wrote 6 answers to ${details}`);
    for (const budget of [120, 1000]) {
      const answers = lines.filter((a) => a.budget === budget);
      expect(answers.map((a) => [a.probe, a.category])).toEqual([
        [1, expect.any(Number)],
        [2, expect.any(Number)],
        [3, 3],
      ]);
      for (const a of answers) {
        expect(a.tokens).toBeLessThanOrEqual(budget);
        expect(a.expected).toBeGreaterThan(0);
        expect(a.recall).toBeCloseTo((a.expected - a.missed.length) / a.expected, 10);
        expect(a.missed.every((m: unknown) => typeof m === 'string' && m.length > 0)).toBe(true);
      }
      const row = json.results.find((r: any) => r.method === 'product' && r.budget === budget && !r.category);
      const mean = answers.reduce((n, a) => n + a.recall, 0) / answers.length;
      expect(row.evidence_recall).toBeCloseTo(mean, 5);
    }
    expect(lines.find((a) => a.budget === 1000 && a.probe === 3).query).toBe('What did Nora make?');
  });

  it('names in --details the evidence a tight budget missed', async () => {
    const file = path.join(dir, 'out', 'tight.jsonl');
    const { json: tight } = await runEvalCli(
      ['--data', path.join(dir, 'data'), '--budget', '60', '--details', file],
      path.join(dir, 'out', 'tight.json'),
    );
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const missing = lines.filter((a) => a.missed.length > 0);
    expect(missing.length).toBeGreaterThan(0);
    for (const a of lines) expect(a.recall).toBeCloseTo((a.expected - a.missed.length) / a.expected, 10);
    const row = tight.results.find((r: any) => r.method === 'product' && !r.category);
    expect(row.evidence_recall).toBeLessThan(1);
  }, 60_000);

  it("reports the product's evidence recall", () => {
    const product = json.results.find(
      (r: any) => r.method === 'product' && r.budget === 1000 && r.category === undefined,
    );
    expect(typeof product.evidence_recall).toBe('number');
    expect(product.p50_ms).toBeGreaterThan(0);
    expect(stdout).toMatch(/\| product \| all +\| +3 \| +\d+\.\d %/);
  });

  it('scores the baselines on the same turns: the whole conversation fits in 1000 tokens', () => {
    const recency = json.results.find(
      (r: any) => r.method === 'recency' && r.budget === 1000 && r.category === undefined,
    );
    expect(recency).toMatchObject({ evidence_recall: 1, all_evidence: 1 });
    // 'a bowl and two mugs' is not said verbatim; 'pottery' and 'Lisbon half marathon' are.
    expect(recency.answer_hit).toBeCloseTo(2 / 3, 6);
  });

  it('adds per-category rows and notes what it skipped', () => {
    const cats = json.results.filter((r: any) => r.method === 'bm25' && r.budget === 1000 && r.category !== undefined);
    expect(cats.map((r: any) => [r.category, r.questions])).toEqual([
      [1, 1],
      [2, 0],
      [3, 1],
      [4, 1],
    ]);
    expect(json.meta).toMatchObject({
      questions: 3,
      turns: 8,
      missing_evidence_ids: 1,
      unscorable_questions: 0,
      dead_letter_jobs: 0,
    });
    expect(stdout).toContain('Budget 120 tokens');
    expect(stderr).toContain('conversation 1/1 conv-x');
  });
});
