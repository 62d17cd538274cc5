// npm run bench [-- --quick] [--cases product,recency,bm25,user] [--user 1000x100] [--json <file>] …: product, recency
// and in-process BM25 on the same generated sessions; `user`: questions in new sessions of one user (performance.md).
import { execFileSync, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  cases,
  assertBenchJson,
  formatTable,
  type BenchJson,
  type BenchMeta,
  type Case,
  type Result,
} from './report.js';
import { parseUserShape, type UserShape } from './user.js';
import type { Job, WorkerMessage } from './worker.js';
import { ensureDatabase } from '../postgres.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(here, '../..');
/** Where the LoCoMo conversations are looked for without --data. */
export const defaultDataDir = path.join(projectRoot, '../shared/benchmarks/locomo');

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: CliIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

/** What --cases selects: the three single-session cases, and `user` (product and BM25 over one user's sessions). */
export const runnable = [...cases, 'user'] as const;
export type Runnable = Case | 'user';

export interface BenchOptions {
  sizes: number[];
  cases: Runnable[];
  /** The `user` case: that many sessions of that many turns, all of one user and agent. */
  user: UserShape;
  dataDir: string;
  tools: string | undefined;
  queries: number;
  warmQueries: number;
  /** Queries on a throw-away session before any measurement (start-up: JIT, memos of common words). */
  warmUpQueries: number;
  budget: number;
  batch1Writes: number;
  database: string | undefined;
  redis: string | undefined;
  keepDir: string | undefined;
  quick: boolean;
  json: string | undefined;
  /** The product's log level (JSON lines; warnings and errors on stderr); silent unless diagnosing a failed run. */
  log: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** Extra Node/V8 flags for the processes that run the cases (e.g. `--liftoff-only`), to measure their effect. */
  nodeArgs: string[];
}

const positiveInts = (name: string, text: string): number[] => {
  const xs = text
    .split(',')
    .map((s) => s.trim().replace(/_/g, ''))
    .filter(Boolean)
    .map((s) => (/^\d+k$/i.test(s) ? Number(s.slice(0, -1)) * 1000 : Number(s)));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x <= 0))
    throw new Error(`--${name} must be positive integers, got ${JSON.stringify(text)}`);
  return xs;
};
const positiveInt = (name: string, text: string, allowZero = false): number => {
  const x = Number(text);
  if (!Number.isInteger(x) || x < (allowZero ? 0 : 1))
    throw new Error(
      `--${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(text)}`,
    );
  return x;
};

const logLevels = ['silent', 'error', 'warn', 'info', 'debug'] as const;
const logLevel = (text: string): BenchOptions['log'] => {
  if (!(logLevels as readonly string[]).includes(text)) throw new Error(`--log must be one of ${logLevels.join(', ')}`);
  return text as BenchOptions['log'];
};

export function parseOptions(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'string' },
      quick: { type: 'boolean', default: false },
      data: { type: 'string' },
      tools: { type: 'string' },
      sizes: { type: 'string' },
      queries: { type: 'string' },
      warm: { type: 'string' },
      budget: { type: 'string', default: '2000' },
      batch1: { type: 'string' },
      cases: { type: 'string', default: runnable.join(',') },
      user: { type: 'string' },
      database: { type: 'string' },
      redis: { type: 'string' },
      'keep-db': { type: 'string' },
      'warm-up': { type: 'string', default: '300' },
      log: { type: 'string', default: 'silent' },
      'node-args': { type: 'string', default: '' },
    },
    strict: true,
  });
  const quick = values.quick!;
  const selected = values.cases!.split(',').map((s) => s.trim());
  for (const c of selected)
    if (!(runnable as readonly string[]).includes(c)) throw new Error(`--cases: unknown case ${JSON.stringify(c)}`);
  // Loopback only: a benchmark creates and deletes data, and its timings mean nothing over a network.
  for (const url of [values.database, values.redis])
    if (url && !/@?(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url))
      throw new Error(`refusing a non-loopback target: ${url}`);
  if (values.redis && !values.database)
    throw new Error('--redis goes with --database (the embedded default keeps its cache in process)');
  return {
    sizes: positiveInts('sizes', values.sizes ?? (quick ? '1000,10000' : '1000,10000,100000')),
    cases: selected as Runnable[],
    user: parseUserShape(values.user ?? (quick ? '100x100' : '1000x100')),
    dataDir: path.resolve(values.data ?? defaultDataDir),
    tools: values.tools,
    queries: positiveInt('queries', values.queries ?? (quick ? '100' : '200')),
    warmQueries: positiveInt('warm', values.warm ?? (quick ? '50' : '100')),
    warmUpQueries: positiveInt('warm-up', values['warm-up']!, true),
    budget: positiveInt('budget', values.budget!),
    batch1Writes: positiveInt('batch1', values.batch1 ?? (quick ? '100' : '200'), true),
    database: values.database,
    redis: values.redis,
    keepDir: values['keep-db'] ? path.resolve(values['keep-db']) : undefined,
    quick,
    json: values.json,
    log: logLevel(values.log!),
    nodeArgs: values['node-args']!.split(/\s+/).filter(Boolean),
  };
}

/** Runs one job in a child process (Node with tsx), its stderr passed on to `io` as progress. */
export function runInChild(job: Job, nodeArgs: string[] = [], io: CliIo = processIo): Promise<Result[]> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(here, 'worker.ts'), [JSON.stringify(job)], {
      cwd: projectRoot,
      execArgv: [...nodeArgs, '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => io.stderr(text));
    let outcome: WorkerMessage | undefined;
    child.on('message', (m: WorkerMessage) => (outcome = m));
    child.on('error', reject);
    // On close, once the child's stderr has been read to its end: its last progress lines come before the table.
    child.on('close', (code, signal) => {
      if (!outcome) reject(new Error(`${job.kind}: worker exited (${signal ?? code}) without results`));
      else if (outcome.type === 'results') resolve(outcome.results);
      else reject(new Error(`${job.kind}: ${outcome.message}`));
    });
  });
}

export function codeState(): BenchMeta['code'] {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: projectRoot, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  try {
    const diff = git('diff', 'HEAD');
    const changed = git('status', '--porcelain').split('\n').filter(Boolean).length;
    return {
      head: git('rev-parse', '--short', 'HEAD').trim(),
      changed_files: changed,
      diff_sha256: createHash('sha256').update(diff).digest('hex').slice(0, 16),
    };
  } catch {
    return { head: 'unknown', changed_files: 0, diff_sha256: '' };
  }
}

export async function runBench(o: BenchOptions, io: CliIo = processIo): Promise<BenchJson> {
  const started = performance.now();
  const log = (line: string) => io.stderr(`[bench] ${line}\n`);
  const loadStart = os.loadavg();
  let loadMax = loadStart[0]!;
  const sampler = setInterval(() => (loadMax = Math.max(loadMax, os.loadavg()[0]!)), 5_000);
  sampler.unref();
  const code = codeState();
  if (o.database) await ensureDatabase(o.database);
  const userShape = o.cases.includes('user') ? ` (user: ${o.user.sessions}×${o.user.turns})` : '';
  const store = o.database ? 'PostgreSQL' + (o.redis ? ' + Redis' : '') : 'embedded PGlite';
  log(
    `sizes ${o.sizes.join(', ')}; cases ${o.cases.join(', ')}${userShape}; ${store}; budget ${o.budget} tokens;` +
      ` data ${o.dataDir}`,
  );

  const results: Result[] = [];
  try {
    const base = {
      sizes: o.sizes,
      dataDir: o.dataDir,
      tools: o.tools,
      queries: o.queries,
      warmQueries: o.warmQueries,
      warmUpQueries: o.warmUpQueries,
      budget: o.budget,
      batch1Writes: o.batch1Writes,
    };
    const jobs: Job[] = [];
    if (o.cases.includes('product')) {
      if (o.keepDir) await mkdir(o.keepDir, { recursive: true });
      jobs.push({
        ...base,
        kind: 'product',
        database: o.database,
        redis: o.redis,
        keepDir: o.keepDir,
        logLevel: o.log,
      });
    }
    for (const c of ['recency', 'bm25'] as const) if (o.cases.includes(c)) jobs.push({ ...base, kind: c });
    if (o.cases.includes('user')) {
      const user = { ...base, user: o.user, sizes: [] };
      jobs.push({ ...user, kind: 'user-product', database: o.database, redis: o.redis, logLevel: o.log });
      jobs.push({ ...user, kind: 'user-bm25' });
    }
    // One at a time: on two cores, a concurrent case would measure the other's load.
    for (const job of jobs) {
      log(`${job.kind}: starting (${((performance.now() - started) / 1000).toFixed(0)} s into the run)`);
      results.push(...(await runInChild(job, o.nodeArgs, io)));
    }
  } finally {
    clearInterval(sampler);
  }
  const cpus = os.cpus();
  const doc: BenchJson = {
    results,
    meta: {
      started_at: new Date(Date.now() - (performance.now() - started)).toISOString(),
      elapsed_s: Math.round((performance.now() - started) / 100) / 10,
      quick: o.quick,
      database: o.database ? `postgresql${o.redis ? ' + redis' : ''}` : 'pglite (temp dir)',
      budget_tokens: o.budget,
      machine: {
        nproc: os.availableParallelism(),
        cpu: cpus[0]?.model ?? 'unknown',
        ram_gb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        loadavg_start: loadStart.map((x) => Math.round(x * 100) / 100),
        loadavg_end: os.loadavg().map((x) => Math.round(x * 100) / 100),
      },
      code,
      notes: [
        `1-minute load average peaked at ${loadMax.toFixed(2)} during the run`,
        `queries: ${o.queries} distinct LoCoMo questions (cache miss), then ${o.warmQueries} repeats of 20 of them (cache hit)`,
        `every case first answered ${o.warmUpQueries} other questions on a separate 500-turn session (warm-up)`,
        ...(o.cases.includes('user')
          ? [`user case: ${o.user.sessions} sessions × ${o.user.turns} turns of one user, each question in a new one`]
          : []),
        ...(o.nodeArgs.length ? [`cases ran with node ${o.nodeArgs.join(' ')}`] : []),
      ],
    },
  };
  assertBenchJson(doc);
  return doc;
}

export async function cli(args: string[], io: CliIo = processIo): Promise<BenchJson> {
  const o = parseOptions(args);
  const doc = await runBench(o, io);
  const m = doc.meta!;
  io.stdout(
    `${m.database}; ${m.machine.nproc} CPUs (${m.machine.cpu}), ${m.machine.ram_gb} GB RAM, Node ${m.machine.node}; ` +
      `load ${m.machine.loadavg_start.join(' ')} → ${m.machine.loadavg_end.join(' ')} (${m.notes[0]}); ${m.elapsed_s} s; ` +
      `code ${m.code.head} + ${m.code.changed_files} changed files (diff ${m.code.diff_sha256})\n\n${formatTable(doc.results)}`,
  );
  if (o.json) {
    const file = path.resolve(o.json);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);
    io.stderr(`[bench] wrote ${file}\n`);
  }
  return doc;
}

// Run only as the entry point, so tests can import cli() without starting a run.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  cli(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`[bench] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
