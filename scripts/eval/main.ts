// npm run eval -- [--suite locomo|tau | --cross-session] --data <dir|file> [--budget …] [--json <file>] [--details <file>]
//   [--baseline …]
// The LoCoMo, cross-session or τ-bench protocol against the product in-process; options in docs/development.md.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { assertIsolated, DEFAULT_TOLERANCE, enforceBaseline } from './gate.js';
import { runEval, type EvalCase, type Progress, type SuiteName } from './harness.js';
import { loadFolder, locomoCase, locomoCrossSessionCase } from './locomo.js';
import type { Product } from './product.js';
import { formatTables, toJson } from './report.js';
import { loadTrajectories } from './tau.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function parseBudgets(text: string): number[] {
  const budgets = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (budgets.length === 0 || budgets.some((b) => !Number.isInteger(b) || b <= 0))
    throw new Error(`--budget must be a comma-separated list of positive integers, got ${JSON.stringify(text)}`);
  return budgets;
}

const locomoInfo = {
  unit: 'conversation',
  probes: 'questions',
  data: 'locomo',
  budgets: '1000,2000,4000',
  categories: [1, 2, 3, 4],
};
const suiteInfo: Record<
  SuiteName,
  { unit: string; probes: string; data: string; budgets: string; categories: readonly number[] }
> = {
  locomo: locomoInfo,
  'locomo-cross-session': locomoInfo,
  tau: {
    unit: 'trajectory',
    probes: 'steps',
    data: 'tau-airline/trajectories.json',
    budgets: '500,1000,2000',
    categories: [],
  },
};
/** What --suite takes; the cross-session variant is chosen with --cross-session. */
const suiteNames = ['locomo', 'tau'] as const;

function progressLine(p: Progress, suite: SuiteName): string {
  const s = (p.elapsedMs / 1000).toFixed(1);
  const info = suiteInfo[suite];
  return `[eval] ${info.unit} ${p.conversation}/${p.conversations} ${p.name} ${p.phase} · ${info.probes} ${p.questionsDone}/${p.questionsTotal} · ${s}s`;
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  tty: boolean;
  /** Called before the product closes (tests read its store). */
  beforeClose?: (product: Product) => Promise<void>;
}

const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  tty: !!process.stderr.isTTY,
};

export async function cli(args: string[], io: CliIo = processIo): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      suite: { type: 'string' },
      'cross-session': { type: 'boolean', default: false },
      data: { type: 'string' },
      budget: { type: 'string' },
      json: { type: 'string' },
      // One JSON line per product answer: probe, budget, tokens, recall and the expected strings it missed.
      details: { type: 'string' },
      'limit-conversations': { type: 'string' },
      baseline: { type: 'string' },
      tolerance: { type: 'string', default: String(DEFAULT_TOLERANCE) },
      // An OpenAI-compatible endpoint (key from OPENAI_API_KEY): the product then seeds and ranks with its vectors.
      embeddings: { type: 'string' },
      'embedding-model': { type: 'string', default: 'text-embedding-3-small' },
    },
    strict: true,
  });
  const named = values.suite ?? 'locomo';
  if (!(suiteNames as readonly string[]).includes(named))
    throw new Error(`--suite must be one of ${suiteNames.join(', ')}, got ${JSON.stringify(values.suite)}`);
  if (values['cross-session'] && named !== 'locomo')
    throw new Error('--cross-session runs LoCoMo across sessions; it cannot be combined with --suite tau');
  const suite: SuiteName = values['cross-session'] ? 'locomo-cross-session' : (named as SuiteName);
  const info = suiteInfo[suite];
  const dataPath = path.resolve(values.data ?? path.join(projectRoot, '../shared/benchmarks', info.data));
  const budgets = parseBudgets(values.budget ?? info.budgets);
  let cases: EvalCase[] =
    suite === 'tau'
      ? await loadTrajectories(dataPath)
      : (await loadFolder(dataPath)).map(suite === 'locomo-cross-session' ? locomoCrossSessionCase : locomoCase);
  if (values['limit-conversations'] !== undefined) {
    const n = Number(values['limit-conversations']);
    if (!Number.isInteger(n) || n <= 0) throw new Error('--limit-conversations must be a positive integer');
    cases = cases.slice(0, n);
  }

  if (values.embeddings !== undefined && !URL.canParse(values.embeddings))
    throw new Error(
      `--embeddings must be the base URL of an OpenAI-compatible API, got ${JSON.stringify(values.embeddings)}`,
    );
  const embeddings = values.embeddings ? { baseURL: values.embeddings, model: values['embedding-model']! } : undefined;
  const details: string[] = [];
  const report = await runEval({
    suite,
    cases,
    budgets,
    embeddings,
    categories: info.categories,
    onProgress: (p) => io.stderr(io.tty ? `\r\x1b[K${progressLine(p, suite)}` : `${progressLine(p, suite)}\n`),
    beforeClose: io.beforeClose,
    onAnswer: values.details ? (a) => details.push(JSON.stringify(a)) : undefined,
  });
  if (io.tty) io.stderr('\n');

  const m = report.meta;
  const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const sum = (f: (c: (typeof m.conversations)[number]) => number) => m.conversations.reduce((a, c) => a + f(c), 0);
  const heading =
    suite === 'locomo-cross-session'
      ? `LoCoMo across sessions from ${dataPath}: ${m.conversations.length} conversations (one user each), ` +
        `${sum((c) => c.sessions)} sessions, ${m.turns} turns, ${m.questions} questions (category 1–4), ` +
        `each asked in a new session of the same user\n` +
        `skipped: ${m.missing_evidence_ids} evidence ids naming no turn, ` +
        `${m.unscorable_questions} questions without resolvable evidence\n` +
        `isolation: ${m.leaks} turns of another user of the same agent found in this user's contexts (must be 0)\n`
      : suite === 'tau'
        ? `τ-bench from ${dataPath}: ${m.conversations.length} trajectories, ${m.turns} messages, ${m.questions} scored steps, ${m.expected} required values\n` +
          `tool_result_compression_ratio (tokens shown / stored, mean over tool results placed): ${m.tool_result_compression_ratio ?? 'n/a'}\n`
        : `LoCoMo from ${dataPath}: ${m.conversations.length} conversations, ${m.turns} turns, ${m.questions} questions (category 1–4)\n` +
          `skipped: ${m.missing_evidence_ids} evidence ids naming no turn, ${m.unscorable_questions} questions without resolvable evidence\n`;
  const compacted = m.conversations.filter((c) => c.compactions > 0);
  io.stdout(
    heading +
      `retrieval by meaning: ${embeddings ? `${embeddings.model} at ${embeddings.baseURL} (stored turn vectors)` : 'offline (bundled word vectors)'}\n` +
      `compactions: ${suite === 'tau' ? `${compacted.length} of ${m.conversations.length} sessions compacted` : m.conversations.map((c) => `${c.name} ${c.compactions}`).join(', ')}; dead-lettered jobs: ${m.dead_letter_jobs}\n` +
      `elapsed ${sec(m.elapsed_ms)}: start-up ${sec(m.startup_ms)}, ingest ${sec(sum((c) => c.ingest_ms))}, ` +
      `compression wait ${sec(sum((c) => c.compression_ms))}, QueryContext calls ${sec(m.query_ms_total)}, ` +
      `the rest (baselines, scoring) ${sec(m.elapsed_ms - m.startup_ms - sum((c) => c.ingest_ms + c.compression_ms) - m.query_ms_total)}\n\n` +
      formatTables(report),
  );
  if (values.json) {
    const file = path.resolve(values.json);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(toJson(report), null, 2)}\n`);
    io.stderr(`[eval] wrote ${file}\n`);
  }
  if (values.details) {
    const file = path.resolve(values.details);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, details.length ? `${details.join('\n')}\n` : '');
    io.stderr(`[eval] wrote ${details.length} answers to ${file}\n`);
  }
  assertIsolated(report.meta);
  if (values.baseline) await enforceBaseline(path.resolve(values.baseline), toJson(report), values.tolerance!, io);
}

// Run only as the entry point, so tests can import cli() without starting a run.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  cli(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`[eval] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
