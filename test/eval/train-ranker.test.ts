import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainCli } from '../../scripts/eval/train-ranker.js';
import { featureNames, probabilities, ranker, type RankerModel } from '../../src/pipeline/retriever/learned.js';
import { locomoConversation, otherLocomoConversation as second, writeLocomoFolder } from '../fixtures/locomo.js';

describe('fitting the learned ranker', () => {
  let dir: string;
  let data: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'train-ranker-'));
    data = await writeLocomoFolder(dir, locomoConversation, 'conv-a');
    await writeLocomoFolder(dir, second, 'conv-b');
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('fits on conversations written through the product, writes the model module and cross-validates', async () => {
    let stdout = '';
    let stderr = '';
    const shipped = ranker.model;
    const out = path.join(dir, 'model.ts');
    const model = await trainCli(['--data', data, '--budget', '120,400', '--out', out, '--cross-validate'], {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
    });
    // 5 questions × 2 budgets, each with its conversation's 8 turns as candidates; 8 evidence labels per budget.
    expect(stdout).toMatch(/fitted on 2 conversations, 10 question × budget pairs, 80 candidates \(16 evidence\)/);
    expect(stderr).toContain('[train] conversation 2/2 conv-b');
    expect(stderr).toContain('[train] held out conversation 2/2');
    expect(stdout).toMatch(/\| 120 \| \d+\.\d % \|/);
    expect(stdout).toMatch(/\| 400 \| \d+\.\d % \|/);
    expect(ranker.model).toBe(shipped); // the held-out models were only swapped in for their measurement

    expect(model.features).toEqual([...featureNames]);
    expect(model.weights.every(Number.isFinite)).toBe(true);
    // The module holds the same model, ready to be the shipped one.
    const text = await readFile(out, 'utf8');
    expect(text).toContain('Fitted on conv-a, conv-b at budgets 120, 400 with l2 1.');
    await writeFile(
      out.replace(/\.ts$/, '.mts'),
      text.replace(
        "from './learned.js'",
        `from ${JSON.stringify(pathToFileURL(path.resolve('src/pipeline/retriever/learned.ts')).href)}`,
      ),
    );
    const { rankerModel } = (await import(pathToFileURL(out.replace(/\.ts$/, '.mts')).href)) as {
      rankerModel: RankerModel;
    };
    expect(rankerModel).toEqual(model);
    const row = featureNames.map((_, j) => model.mean[j]!);
    expect(probabilities(rankerModel, [row])[0]).toBeCloseTo(1 / (1 + Math.exp(-model.bias)), 6);
  });

  it('with --cross-session, also asks each held-out conversation across sessions with its fold model', async () => {
    let stdout = '';
    const shipped = ranker.model;
    await trainCli(['--data', data, '--budget', '120,400', '--cross-validate', '--cross-session'], {
      stdout: (t) => void (stdout += t),
      stderr: () => {},
    });
    const [, across] = stdout.split('Held out across sessions');
    expect(across).toBeDefined();
    // Every question is answered from a new session: at 400 tokens each small conversation fits whole.
    expect(across).toMatch(/\| 400 \| 100\.0 % \|/);
    expect(across).toMatch(/\| 120 \| \d+\.\d % \|/);
    expect(ranker.model).toBe(shipped);
  }, 120_000);

  it('refuses a bad penalty and cross-validation over one conversation', async () => {
    const io = { stdout: () => {}, stderr: () => {} };
    await expect(trainCli(['--data', data, '--l2=-1'], io)).rejects.toThrow(/--l2 must be a non-negative number/);
    const single = await writeLocomoFolder(path.join(dir, 'one'), second, 'conv-b');
    await expect(trainCli(['--data', single, '--cross-validate'], io)).rejects.toThrow(/at least two conversations/);
    await expect(trainCli(['--data', data, '--cross-session'], io)).rejects.toThrow(/use it with --cross-validate/);
  });
});
