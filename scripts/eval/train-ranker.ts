// npm run eval:train -- [--data <locomo dir>] [--budget 1000,2000,4000] [--out <file>] [--cross-validate]
//   [--cross-session] [--l2 1]
// Fits the learned ranker (ADR 0014) on LoCoMo-format conversations; `--cross-validate` prints held-out recall, within
// one session and, with `--cross-session`, across sessions.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { featureNames, featureRows, ranker, type RankerModel } from '../../src/pipeline/retriever/learned.js';
import type { HistoryCandidate } from '../../src/pipeline/retriever/index.js';
import { relevantFacts } from '../../src/pipeline/retriever/relevant.js';
import { getTokenizer } from '../../src/tokenizer.js';
import { runEval, type Probe } from './harness.js';
import { fitLogistic, standardise } from './logistic.js';
import { locomoCase, locomoCrossSessionCase, studyConversations, studyOptions, type Conversation } from './locomo.js';
import { parseBudgets } from './main.js';
import { queryProduct, startProduct, writeCase, type Product, type ProductSession } from './product.js';
import { retraceable } from './retrace.js';
import { scoreContext } from './score.js';

/** One question at one budget: its candidates' feature rows and labels. */
interface Example {
  conversation: number;
  rows: number[][];
  labels: number[];
}

/** Fits the model on these examples' rows. */
export function fitRanker(examples: readonly Example[], l2: number): RankerModel {
  const rows = examples.flatMap((e) => e.rows);
  const labels = examples.flatMap((e) => e.labels);
  const { mean, scale } = standardise(rows, featureNames.length);
  const standardised = rows.map((r) => r.map((x, j) => (Number.isNaN(x) ? NaN : (x - mean[j]!) / scale[j]!)));
  const { weights, bias } = fitLogistic(standardised, labels, { l2 });
  // Six significant digits, and float noise around 0 written as 0, so the same data writes the same module.
  const round = (x: number) => (Math.abs(x) < 1e-9 ? 0 : Number(x.toPrecision(6)));
  return {
    features: [...featureNames],
    mean: mean.map(round),
    scale: scale.map(round),
    weights: weights.map(round),
    bias: round(bias),
  };
}

export function modelModule(model: RankerModel, provenance: string): string {
  const list = (xs: readonly (number | string)[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  return [
    '// Written by `npm run eval:train` (scripts/eval/train-ranker.ts); see ADR 0014.',
    `// ${provenance}`,
    "import type { RankerModel } from './features.js';",
    '',
    'export const rankerModel: RankerModel = {',
    `  features: ${list(model.features)},`,
    `  mean: ${list(model.mean)},`,
    `  scale: ${list(model.scale)},`,
    `  weights: ${list(model.weights)},`,
    `  bias: ${model.bias},`,
    '};',
    '',
  ].join('\n');
}

interface Written {
  tenantId: string;
  session: ProductSession;
  probes: Probe[];
}

async function crossValidate(
  product: Product,
  written: Written[],
  examples: Example[],
  budgets: number[],
  l2: number,
  io: TrainIo,
  /** With the conversations, each is also asked across sessions (`eval --cross-session`) with its fold's model. */
  across?: readonly Conversation[],
): Promise<string> {
  const tok = await getTokenizer();
  const shipped = ranker.model;
  const recall = new Map<string, number[]>();
  const add = (key: string, v: number) => {
    const l = recall.get(key);
    if (l) l.push(v);
    else recall.set(key, [v]);
  };
  let over = 0;
  try {
    for (const [k, w] of written.entries()) {
      ranker.model = fitRanker(
        examples.filter((e) => e.conversation !== k),
        l2,
      );
      await product.deps.cache.deletePrefix(`ctx:${w.tenantId}:`);
      for (const budget of budgets) {
        for (const p of w.probes) {
          const answer = await queryProduct(product, w.session, p.query, budget);
          const s = scoreContext(answer.text, { evidence: p.expected, answer: p.answer }, budget, (t) => tok.count(t));
          if (s.overBudget) over += 1;
          add(`${budget}`, s.evidenceRecall);
          add(`${budget}/${p.category}`, s.evidenceRecall);
        }
      }
      if (across) {
        await runEval({
          suite: 'locomo-cross-session',
          cases: [locomoCrossSessionCase(across[k]!)],
          budgets,
          onAnswer: (a) => {
            add(`across ${a.budget}`, a.recall);
            add(`across ${a.budget}/${a.category}`, a.recall);
            if (a.tokens > a.budget) over += 1;
          },
        });
      }
      io.stderr(`[train] held out conversation ${k + 1}/${written.length}\n`);
    }
  } finally {
    ranker.model = shipped;
    for (const w of written) await product.deps.cache.deletePrefix(`ctx:${w.tenantId}:`);
  }
  const pct = (key: string) => {
    const l = recall.get(key) ?? [];
    return `${((100 * l.reduce((a, b) => a + b, 0)) / Math.max(1, l.length)).toFixed(1)} %`;
  };
  const categories = [...new Set(written.flatMap((w) => w.probes.map((p) => p.category)))].sort();
  const table = (prefix: string) => [
    `| budget | all | ${categories.map((c) => `category ${c}`).join(' | ')} |`,
    `|---|---|${categories.map(() => '---').join('|')}|`,
    ...budgets.map(
      (b) => `| ${b} | ${pct(`${prefix}${b}`)} | ${categories.map((c) => pct(`${prefix}${b}/${c}`)).join(' | ')} |`,
    ),
  ];
  return [
    `Held-out evidence recall (each conversation answered by a model fitted on the others), ${over} over budget`,
    ...table(''),
    ...(across
      ? [
          '',
          'Held out across sessions (each question asked from a new session, as eval --cross-session)',
          ...table('across '),
        ]
      : []),
    '',
  ].join('\n');
}

export interface TrainIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: TrainIo = { stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t) };

/** The command: fits the model, writes it with `--out`, cross-validates with `--cross-validate`; returns the model. */
export async function trainCli(args: string[], io: TrainIo = processIo): Promise<RankerModel> {
  const { values } = parseArgs({
    args,
    options: {
      ...studyOptions,
      budget: { type: 'string', default: '1000,2000,4000' },
      out: { type: 'string' },
      'cross-validate': { type: 'boolean', default: false },
      l2: { type: 'string', default: '1' },
      // With --cross-validate: each held-out conversation is also asked across sessions.
      'cross-session': { type: 'boolean', default: false },
    },
  });
  const budgets = parseBudgets(values.budget!);
  const l2 = Number(values.l2);
  if (!(l2 >= 0)) throw new Error(`--l2 must be a non-negative number, got ${JSON.stringify(values.l2)}`);
  const convs = await studyConversations(values);
  if (convs.length === 0) throw new Error('no conversations found');
  if (values['cross-session'] && !values['cross-validate'])
    throw new Error('--cross-session measures held-out recall: use it with --cross-validate');
  if (values['cross-validate'] && convs.length < 2)
    throw new Error('--cross-validate needs at least two conversations');
  const started = performance.now();
  const product = await startProduct({ rateLimit: false });
  try {
    const examples: Example[] = [];
    const written: Written[] = [];
    for (const [i, conv] of convs.entries()) {
      const c = locomoCase(conv);
      const tenantId = `train-${i}`;
      const session = await writeCase(product, c, tenantId);
      const probes = c.steps.flatMap((st) => ('probe' in st ? [st.probe] : []));
      written.push({ tenantId, session, probes });
      const retrace = await retraceable(product, tenantId, c.sessionId);
      for (const q of conv.questions) {
        const evidence = new Set(q.evidence);
        for (const budget of budgets) {
          const facts = await relevantFacts(await retrace(q.question, budget));
          examples.push({
            conversation: i,
            rows: featureRows(facts),
            labels: facts.map((f) =>
              evidence.has((f.signals.candidate as HistoryCandidate).turn.external_id ?? '') ? 1 : 0,
            ),
          });
        }
      }
      const s = ((performance.now() - started) / 1000).toFixed(1);
      io.stderr(
        `[train] conversation ${i + 1}/${convs.length} ${conv.name}: ${conv.questions.length} questions retraced · ${s}s\n`,
      );
    }
    const rows = examples.reduce((n, e) => n + e.rows.length, 0);
    const positives = examples.reduce((n, e) => n + e.labels.reduce((a, b) => a + b, 0), 0);
    const model = fitRanker(examples, l2);
    io.stdout(
      `fitted on ${convs.length} conversations, ${examples.length} question × budget pairs, ${rows} candidates (${positives} evidence)\n`,
    );
    io.stdout(`${featureNames.map((f, j) => `  ${f.padEnd(16)} ${model.weights[j]!.toFixed(3)}`).join('\n')}\n`);
    if (values.out) {
      const provenance = `Fitted on ${convs.map((c) => c.name).join(', ')} at budgets ${budgets.join(', ')} with l2 ${l2}.`;
      await writeFile(path.resolve(values.out), modelModule(model, provenance));
      io.stdout(`wrote ${values.out}\n`);
    }
    if (values['cross-validate'])
      io.stdout(
        await crossValidate(product, written, examples, budgets, l2, io, values['cross-session'] ? convs : undefined),
      );
    return model;
  } finally {
    await product.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  trainCli(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`[train] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
