// npx tsx scripts/bench/profile.ts --db <dir> [--turns 10000,100000] [--queries 200] [--warm-up 300] [--budget 2000] [--out <dir>]
// CPU profile of QueryContext on a kept bench session, cut to the measured queries and summarised [--top 25].
// [--warm-on <turns>]: the warm-up queries go to the kept session of that size, so the measured queries are the
// session's first, as in the bench (by default they warm the measured session itself).
// [--lines]: the driver runs bundled, and the hottest source lines are listed too.
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadCorpus, warmUpQuestions } from './data.js';
import { busyMs, openKeptStore, readKept, recordingStore, sessionOf, sqlText, statementLabel } from './kept.js';
import { firstIndex } from '../../src/pipeline/sorted.js';
import { askContext, startProduct } from './product.js';
import { percentile, round } from './stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(here, '../..');

interface Markers {
  start_us: number;
  end_us: number;
  turns: number;
  queries: number;
  ms: number[];
  /** Per statement label: calls and total milliseconds, measured around Store.query (overlapping, see busyMs). */
  sql: Record<string, { calls: number; ms: number }>;
  /** Milliseconds with at least one statement in flight. */
  sql_busy_ms: number;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** Runs inside `node --cpu-prof`: warm-up, then the measured queries between two clock marks. */
async function driver(o: {
  db: string;
  turns: number;
  queries: number;
  warmUp: number;
  /** The kept session (by size) the warm-up queries go to; the measured one when undefined. */
  warmOn: number | undefined;
  budget: number;
  markers: string;
  dataDir: string;
}) {
  const kept = await readKept(o.db);
  const s = sessionOf(kept, o.turns);
  const warm = o.warmOn === undefined ? s : sessionOf(kept, o.warmOn);
  const corpus = await loadCorpus(o.dataDir);
  const store = recordingStore(await openKeptStore(o.db, kept));
  const running = await startProduct({ store, database: kept.database ?? undefined });
  try {
    // Warm-up on questions outside the measured set: JIT, the tokenizer's ranks and piece memo, PGlite's buffers.
    const all = corpus.questions;
    const questions = all.slice(0, Math.min(o.queries, all.length - 10));
    for (const q of warmUpQuestions(all, questions.length, o.warmUp))
      await askContext(running.app, warm.key, warm.sessionId, q, o.budget);
    const ms: number[] = [];
    store.recording = true;
    const start = nowUs();
    for (const q of questions) ms.push((await askContext(running.app, s.key, s.sessionId, q, o.budget)).ms);
    const end = nowUs();
    store.recording = false;
    const sql: Markers['sql'] = {};
    for (const r of store.recorded) {
      const label = statementLabel(sqlText(store, r.statement).sql);
      const e = (sql[label] ??= { calls: 0, ms: 0 });
      e.calls += 1;
      e.ms += r.ms;
    }
    const markers: Markers = {
      start_us: start,
      end_us: end,
      turns: o.turns,
      queries: questions.length,
      ms,
      sql,
      sql_busy_ms: busyMs(store.recorded),
    };
    await writeFile(o.markers, JSON.stringify(markers));
  } finally {
    await running.close();
  }
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  /** Samples by line (1-based) of the frame's script. */
  positionTicks?: { line: number; ticks: number }[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame lives, short: `src/…` for the product, the package for node_modules, `PGlite (wasm)`, `node:…`. */
export function frameOwner(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : 'V8 builtins';
  if (url.startsWith('wasm://')) return 'PGlite (Postgres in WASM)';
  if (url.startsWith('node:')) return 'Node internals';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const m = url.match(/\/(src|scripts)\/(.*)$/);
  return m ? `${m[1]}/${m[2]}` : url;
}

/**
 * A bundle's modules by where they start: esbuild marks each with a `// path` comment line (paths relative to the
 * project). Returns the module holding a (1-based) line of the bundle.
 */
export function bundleModules(text: string): (line: number) => string | undefined {
  const starts: { line: number; path: string }[] = [];
  text.split('\n').forEach((l, i) => {
    const m = l.match(/^\/\/ ((?:src|scripts|node_modules)\/\S+)$/);
    if (m) starts.push({ line: i + 1, path: m[1]! });
  });
  return (line) => starts[firstIndex(starts.length, (k) => starts[k]!.line > line) - 1]?.path;
}

/** Where a frame lives; frames of a bundled driver by the module their line is in. */
export type Owner = (f: CallFrame) => string;
export const ownerIn =
  (bundle?: { url: string; moduleAt: (line: number) => string | undefined }): Owner =>
  (f) => {
    const owner = bundle && f.url === bundle.url ? bundle.moduleAt(f.lineNumber + 1) : undefined;
    return owner ? frameOwner(`/${owner}`, f.functionName) : frameOwner(f.url, f.functionName);
  };

// By name and file only: under tsx's loader the line numbers V8 reports are those of the transformed module.
const frameKey = (f: CallFrame, owner: Owner) => `${f.functionName || '(anonymous)'}\u0000${owner(f)}`;

/**
 * The bundle's lines with the most samples over the whole run (V8 counts ticks per line, not per sample, so warm-up
 * is included), with the module each is in and its code.
 */
export function hotLines(
  p: CpuProfile,
  bundle: { url: string; text: string },
  top: number,
): { module: string; code: string; ticks: number; share: number }[] {
  const lines = bundle.text.split('\n');
  const moduleAt = bundleModules(bundle.text);
  const ticks = new Map<number, number>();
  let total = 0;
  for (const n of p.nodes) {
    if (n.callFrame.url !== bundle.url) continue;
    for (const t of n.positionTicks ?? []) {
      ticks.set(t.line, (ticks.get(t.line) ?? 0) + t.ticks);
      total += t.ticks;
    }
  }
  return [...ticks]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, top)
    .map(([line, n]) => ({
      module: moduleAt(line) ?? '(bundle)',
      code: (lines[line - 1] ?? '').trim(),
      ticks: n,
      share: total ? n / total : 0,
    }));
}

export interface ProfileSummary {
  windowMs: number;
  samples: number;
  self: { fn: string; where: string; ms: number; share: number }[];
  owners: { owner: string; ms: number; share: number }[];
  inclusive: { fn: string; where: string; ms: number; share: number }[];
}

/** Self and inclusive time per function over the samples taken between `fromUs` and `toUs`. */
export function summarizeProfile(
  p: CpuProfile,
  fromUs: number,
  toUs: number,
  top: number,
  owner: Owner = ownerIn(),
): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const owners = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let t = p.startTime;
  let total = 0;
  let samples = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (t < fromUs || t > toUs) continue;
    const w = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(p.samples[i]!);
    if (!node) continue;
    samples += 1;
    total += w;
    const key = frameKey(node.callFrame, owner);
    self.set(key, (self.get(key) ?? 0) + w);
    const where = owner(node.callFrame);
    const ownerGroup = where.startsWith('src/') ? where : where.startsWith('scripts/') ? 'bench driver' : where;
    owners.set(ownerGroup, (owners.get(ownerGroup) ?? 0) + w);
    // Inclusive time of the product's own functions: each distinct frame on the stack once.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)!.callFrame;
      if (!owner(f).startsWith('src/')) continue;
      const k = frameKey(f, owner);
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + w);
    }
  }
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, ms]) => {
        const [fn, where] = k.split('\u0000') as [string, string];
        return { fn, where, ms, share: total ? ms / total : 0 };
      });
  return {
    windowMs: total,
    samples,
    self: rows(self),
    owners: [...owners]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([owner, ms]) => ({ owner, ms, share: total ? ms / total : 0 })),
    inclusive: rows(inclusive),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
// Regular-expression frames are named by their source, which can run to hundreds of characters.
const short = (name: string) => (name.length > 70 ? `${name.slice(0, 67)}…` : name);

export function formatProfile(m: Markers, s: ProfileSummary, file: string): string {
  const queryMs = m.ms.reduce((a, b) => a + b, 0);
  const lines = [
    `### ${m.turns.toLocaleString('en-US')} turns: ${m.queries} distinct queries, p50 ${round(percentile(m.ms, 50))} ms, p95 ${round(percentile(m.ms, 95))} ms (under the profiler)`,
    '',
    `Profile ${file}: ${s.samples} samples, ${round(s.windowMs)} ms in the measured window. ` +
      `Some statement in flight: ${round(m.sql_busy_ms)} ms of ${round(queryMs)} ms of queries (${pct(m.sql_busy_ms / queryMs)}).`,
    '',
    '| statement | calls | ms per call (wall, incl. waiting behind concurrent statements) |',
    '|---|---:|---:|',
    ...Object.entries(m.sql)
      .sort((a, b) => b[1].ms - a[1].ms)
      .map(([label, e]) => `| ${label} | ${e.calls} | ${round(e.ms / e.calls)} |`),
    '',
    '| self time by owner | ms | share |',
    '|---|---:|---:|',
    ...s.owners.slice(0, 12).map((o) => `| ${o.owner} | ${round(o.ms)} | ${pct(o.share)} |`),
    '',
    '| # | top self-time function | where | self ms | share |',
    '|---:|---|---|---:|---:|',
    ...s.self.map((r, i) => `| ${i + 1} | \`${short(r.fn)}\` | ${r.where} | ${round(r.ms)} | ${pct(r.share)} |`),
    '',
    '| product function (inclusive, synchronous part) | where | ms | share |',
    '|---|---|---:|---:|',
    ...s.inclusive.slice(0, 15).map((r) => `| \`${r.fn}\` | ${r.where} | ${round(r.ms)} | ${pct(r.share)} |`),
    '',
  ];
  return lines.join('\n');
}

export function formatLines(rows: ReturnType<typeof hotLines>): string {
  const code = (c: string) => `\`${(c.length > 100 ? `${c.slice(0, 97)}…` : c).replaceAll('|', '\\|')}\``;
  return [
    '| hottest line (bundled; whole run, warm-up included) | module | ticks | share |',
    '|---|---|---:|---:|',
    ...rows.map((r) => `| ${code(r.code)} | ${r.module} | ${r.ticks} | ${pct(r.share)} |`),
    '',
  ].join('\n');
}

/**
 * This script bundled with the product (esbuild, names kept), so V8's line numbers are the bundle's and each line's
 * module is known (bundleModules). Product modules keep their own URL for the files they read beside themselves.
 * Written under node_modules/.cache, from where the packages left out of the bundle resolve.
 */
async function bundleDriver(): Promise<string> {
  const esbuild = await import('esbuild');
  const outfile = path.join(projectRoot, 'node_modules/.cache/context-engine/profile-driver.mjs');
  const src = path.join(projectRoot, 'src');
  await esbuild.build({
    entryPoints: [fileURLToPath(import.meta.url)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    keepNames: true,
    logLevel: 'warning',
    plugins: [
      {
        name: 'own-urls',
        setup(build) {
          build.onLoad({ filter: /\.ts$/ }, async (args) => {
            if (!args.path.startsWith(src)) return undefined;
            const contents = await readFile(args.path, 'utf8');
            const url = JSON.stringify(pathToFileURL(args.path).href);
            return { contents: contents.replaceAll('import.meta.url', url), loader: 'ts' };
          });
        },
      },
    ],
  });
  return outfile;
}

async function main(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      driver: { type: 'boolean', default: false },
      db: { type: 'string' },
      turns: { type: 'string', default: '10000,100000' },
      queries: { type: 'string', default: '200' },
      'warm-up': { type: 'string', default: '300' },
      'warm-on': { type: 'string' },
      budget: { type: 'string', default: '2000' },
      data: { type: 'string' },
      out: { type: 'string' },
      markers: { type: 'string' },
      top: { type: 'string', default: '25' },
      lines: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.db) throw new Error('--db <dir> is required (a directory written by `npm run bench -- --keep-db <dir>`)');
  const db = path.resolve(values.db);
  const dataDir = path.resolve(values.data ?? path.join(projectRoot, '../shared/benchmarks/locomo'));
  const queries = Number(values.queries);
  const budget = Number(values.budget);
  if (values.driver) {
    const warmUp = Number(values['warm-up']);
    const warmOn = values['warm-on'] === undefined ? undefined : Number(values['warm-on']);
    await driver({
      db,
      turns: Number(values.turns),
      queries,
      warmUp,
      warmOn,
      budget,
      markers: values.markers!,
      dataDir,
    });
    return;
  }
  const out = path.resolve(values.out ?? path.join(db, 'profiles'));
  const bundled = values.lines ? await bundleDriver() : undefined;
  for (const turns of values.turns.split(',').map(Number)) {
    const dir = path.join(out, String(turns));
    await mkdir(dir, { recursive: true });
    const markers = path.join(dir, 'markers.json');
    process.stderr.write(`[profile] ${turns.toLocaleString('en-US')} turns: ${queries} queries under --cpu-prof\n`);
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--cpu-prof',
          '--cpu-prof-dir',
          dir,
          ...(bundled ? [bundled] : ['--import', 'tsx', fileURLToPath(import.meta.url)]),
          '--driver',
          '--db',
          db,
          '--turns',
          String(turns),
          '--queries',
          String(queries),
          '--warm-up',
          String(values['warm-up']),
          ...(values['warm-on'] ? ['--warm-on', values['warm-on']] : []),
          '--budget',
          String(budget),
          '--markers',
          markers,
          '--data',
          dataDir,
        ],
        { cwd: projectRoot, stdio: ['ignore', 'inherit', 'inherit'] },
      );
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`profile driver exited with ${code}`))));
    });
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (tsx adds a worker thread).
    const profiles = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile') && f.split('.')[4] === '0').sort();
    if (profiles.length === 0) throw new Error(`no main-thread profile in ${dir}`);
    const file = path.join(dir, profiles[profiles.length - 1]!);
    const m = JSON.parse(await readFile(markers, 'utf8')) as Markers;
    const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    // V8's profile clock and process.hrtime are both CLOCK_MONOTONIC on Linux; if not, fall back to the whole profile.
    const inside = m.start_us >= profile.startTime && m.end_us <= profile.endTime;
    if (!inside) process.stderr.write('[profile] markers fall outside the profile; summarising the whole profile\n');
    const bundle = bundled ? { url: pathToFileURL(bundled).href, text: await readFile(bundled, 'utf8') } : undefined;
    const summary = summarizeProfile(
      profile,
      inside ? m.start_us : profile.startTime,
      inside ? m.end_us : profile.endTime,
      Number(values.top),
      ownerIn(bundle && { url: bundle.url, moduleAt: bundleModules(bundle.text) }),
    );
    process.stdout.write(`${formatProfile(m, summary, file)}\n`);
    if (bundle) process.stdout.write(`${formatLines(hotLines(profile, bundle, Number(values.top)))}\n`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`[profile] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
