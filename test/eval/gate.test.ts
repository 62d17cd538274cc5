// The regression gate: the eval command compared with a baseline it wrote itself passes; against a baseline with
// higher scores (or a row this run lacks) it fails, and the command exits non-zero.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareToBaseline, GateFailed, parseTolerance } from '../../scripts/eval/gate.js';
import type { ResultRow } from '../../scripts/eval/harness.js';
import { cli } from '../../scripts/eval/main.js';
import { locomoConversation, writeLocomoFolder } from '../fixtures/locomo.js';

const conversation = {
  ...locomoConversation,
  session_1: locomoConversation.session_1.slice(0, 2),
  session_2: locomoConversation.session_2.slice(0, 2),
  qa: locomoConversation.qa.slice(0, 2),
};

const row = (over: Partial<ResultRow>): ResultRow =>
  ({
    method: 'product',
    budget: 1000,
    questions: 2,
    evidence_recall: 0.8,
    all_evidence: 0.5,
    answer_hit: 0.5,
    over_budget: 0,
    p50_ms: 1,
    p95_ms: 2,
    ...over,
  }) as ResultRow;

const quiet = { stdout: () => undefined, stderr: () => undefined, tty: false };

describe('regression gate', () => {
  it('flags scores more than the tolerance below the baseline, and missing rows', () => {
    const baseline = { results: [row({}), row({ method: 'bm25' })] };
    expect(
      compareToBaseline({ results: [row({ evidence_recall: 0.79 }), row({ method: 'bm25' })] }, baseline, 0.02),
    ).toEqual([]);
    expect(compareToBaseline({ results: [row({ evidence_recall: 0.7, answer_hit: 0.6 })] }, baseline, 0.02)).toEqual([
      { row: 'product@1000', metric: 'evidence_recall', baseline: 0.8, current: 0.7 },
      { row: 'bm25@1000', metric: 'missing', baseline: 0, current: null },
    ]);
    expect(() => parseTolerance('-1')).toThrow(/tolerance/);
    expect(parseTolerance('0.05')).toBe(0.05);
  });

  describe('on a fixture the test builds', () => {
    let dir: string;
    let baselineFile: string;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'eval-gate-'));
      await writeLocomoFolder(dir, conversation, 'conv-g');
      baselineFile = path.join(dir, 'baseline.json');
      await cli(['--data', path.join(dir, 'data'), '--budget', '1000', '--json', baselineFile], quiet);
    }, 180_000);
    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('passes against its own baseline and fails against a higher one', async () => {
      let out = '';
      await cli(['--data', path.join(dir, 'data'), '--budget', '1000', '--baseline', baselineFile], {
        ...quiet,
        stdout: (t) => void (out += t),
      });
      expect(out).toMatch(/Regression gate: \d+ baseline rows, every score within 0.02/);

      const base = JSON.parse(await readFile(baselineFile, 'utf8'));
      const product = base.results.find((r: ResultRow) => r.method === 'product' && r.category === undefined);
      const higher = path.join(dir, 'higher.json');
      await writeFile(
        higher,
        JSON.stringify({ ...base, results: [{ ...product, evidence_recall: product.evidence_recall + 0.5 }] }),
      );
      const failed = cli(['--data', path.join(dir, 'data'), '--budget', '1000', '--baseline', higher], quiet);
      await expect(failed).rejects.toBeInstanceOf(GateFailed);
      // A wider tolerance lets the same run through.
      await cli(
        ['--data', path.join(dir, 'data'), '--budget', '1000', '--baseline', higher, '--tolerance', '0.6'],
        quiet,
      );

      // The command itself exits non-zero.
      const run = spawnSync(
        process.execPath,
        [
          path.resolve('node_modules/tsx/dist/cli.mjs'),
          'scripts/eval/main.ts',
          '--data',
          path.join(dir, 'data'),
          '--budget',
          '1000',
          '--baseline',
          higher,
        ],
        { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' } },
      );
      expect(run.status).toBe(1);
      expect(run.stdout).toContain('Regression gate FAILED');
    }, 180_000);
  });
});
