// npx tsx scripts/bench/edge.ts [--skip-build] [--database postgres://127.0.0.1:5432/context_engine_bench] [--turns 1000]
//   [--batch 20] [--queries 100] [--budget 2000] [--data <locomo dir>] [--profile <file.cpuprofile>] [--json <file>]
//   [--profile-cold <file.cpuprofile>]
// The Worker under wrangler dev (workerd, local stand-ins): bundle size (raw, gzip), cold start, then CPU time per
// write and per QueryContext on a session of --turns turns, read from the workerd process's scheduler statistics
// around each sequential request; with --profile also the Worker isolate's own busy time from a V8 CPU profile.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { batches, loadCorpus, sessionTurns } from './data.js';
import { busyMsBetween, inspect, medianGapUs, type CpuProfile } from './isolate.js';
import { codeState, defaultDataDir } from './main.js';
import { findWorkerd, processCpu } from './proc.js';
import { percentile, round } from './stats.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const log = (line: string) => process.stderr.write(`[edge] ${line}\n`);

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${out.slice(-2000)}`)),
    );
  });
}

async function bundle(skipBuild: boolean) {
  let wranglerSays = '';
  if (!skipBuild) {
    const t0 = performance.now();
    const out = await run('npm', ['run', '--silent', 'build:worker']);
    log(`build:worker in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    wranglerSays = out.match(/Total Upload:[^\n]*/)?.[0] ?? '';
  }
  const file = path.join(projectRoot, 'dist', 'worker', 'worker.js');
  const code = await readFile(file);
  return {
    file: path.relative(projectRoot, file),
    bytes: (await stat(file)).size,
    gzip6: gzipSync(code, { level: 6 }).length,
    gzip9: gzipSync(code, { level: 9 }).length,
    wranglerSays,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

interface Edge {
  base: string;
  headers: Record<string, string>;
  /** The workerd process that runs the Worker. */
  workerd: number;
  started: number;
  readyAt: number;
  inspectorPort: number;
  /** While a CPU profile is being taken (settle() cannot wait for quiet then). */
  profiling: boolean;
  stop: () => void;
}

/** scripts/dev-edge.ts (wrangler dev) from nothing, in its own process group so stopping it stops workerd too. */
async function startEdge(database: string, dataDir: string): Promise<Edge> {
  const port = 22000 + Math.floor(Math.random() * 20000);
  const inspectorPort = port + 1;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: database,
    LOG_LEVEL: 'warn',
    // wrangler is a local dependency: reachable however this script was started.
    PATH: `${path.join(projectRoot, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
  };
  delete env.CONTEXT_API_KEY; // dev-edge then generates a key in the scratch DATA_DIR and prints it
  const started = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/dev-edge.ts', '--inspector-port', String(inspectorPort)],
    { cwd: projectRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  const stop = () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  let output = '';
  let apiKey = '';
  try {
    const readyAt = await new Promise<number>((resolve, reject) => {
      const onData = (d: Buffer) => {
        output += d.toString();
        apiKey ||= output.match(/API key:\s+(\S+)/)?.[1] ?? '';
        if (/Ready on http/.test(output)) resolve(performance.now());
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('exit', (code) =>
        reject(new Error(`dev-edge exited (${code}) before it was ready:\n${output.slice(-3000)}`)),
      );
      setTimeout(() => reject(new Error(`dev-edge not ready within 120 s:\n${output.slice(-3000)}`)), 120_000).unref();
    });
    const workerd = findWorkerd(child.pid!);
    if (!workerd) throw new Error('no workerd process found below dev-edge');
    return {
      base: `http://127.0.0.1:${port}`,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      workerd,
      started,
      readyAt,
      inspectorPort,
      profiling: false,
      stop,
    };
  } catch (err) {
    stop();
    throw err;
  }
}

interface Measured {
  status: number;
  json: any;
  ms: number;
  /** workerd CPU (all threads / main thread) from sending the request until its answer was read. */
  cpuMs: number;
  mainCpuMs: number;
  sentUs: number;
  answeredUs: number;
}

/** One request, alone, with the workerd process's CPU time read before it is sent and after the answer is read. */
async function measured(e: Edge, method: string, url: string, body?: unknown): Promise<Measured> {
  const c0 = processCpu(e.workerd);
  const sentUs = nowUs();
  const t0 = performance.now();
  const res = await fetch(`${e.base}${url}`, {
    method,
    headers: e.headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  const answeredUs = nowUs();
  const c1 = processCpu(e.workerd);
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return {
    status: res.status,
    json,
    ms,
    cpuMs: c1.allMs - c0.allMs,
    mainCpuMs: c1.mainMs - c0.mainMs,
    sentUs,
    answeredUs,
  };
}

/**
 * Waits until workerd has been quiet for `quietMs` (and at least `minMs` passed): work left after an answer
 * (waitUntil tasks, the queue consumer's jobs, which the local queue delivers after up to a second). Returns the CPU
 * milliseconds it used meanwhile.
 */
async function settle(e: Edge, quietMs: number, minMs = 0): Promise<number> {
  // A running profiler keeps workerd busy sampling: then only wait, long enough for the queue's jobs.
  if (e.profiling) {
    await sleep(Math.max(minMs * 2, quietMs));
    return Number.NaN;
  }
  const start = performance.now();
  const c0 = processCpu(e.workerd).allMs;
  let last = c0;
  let quietSince = start;
  for (;;) {
    await sleep(20);
    const now = performance.now();
    const c = processCpu(e.workerd).allMs;
    // An idle workerd uses well under 0.1 ms a second; anything above that is work.
    if (c - last > 0.2) quietSince = now;
    last = c;
    if (now - start >= minMs && now - quietSince >= quietMs) return c - c0;
    if (now - start > 60_000) throw new Error('workerd did not go quiet within 60 s');
  }
}

function expectStatus(m: Measured, status: number, what: string) {
  if (m.status !== status)
    throw new Error(`${what}: expected ${status}, got ${m.status}: ${JSON.stringify(m.json).slice(0, 500)}`);
}

async function coldStart(e: Edge, profileFile?: string) {
  const atReady = processCpu(e.workerd).allMs;
  // With --profile-cold, the first request runs under the profiler (its CPU figure then includes the sampling).
  const cdp = profileFile ? await inspect(`ws://127.0.0.1:${e.inspectorPort}/ws`) : undefined;
  if (cdp) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    await cdp.send('Profiler.start');
  }
  // Retry until the first answer: "Ready" can precede the listener by a moment.
  let first: Measured | undefined;
  const firstSentAt = performance.now();
  for (let i = 0; i < 100 && !first; i++) {
    try {
      first = await measured(e, 'GET', '/healthz');
    } catch {
      await sleep(50);
    }
  }
  if (!first) throw new Error('the Worker never answered /healthz');
  const firstAnsweredAt = performance.now();
  if (cdp) {
    const { profile } = (await cdp.send('Profiler.stop')) as { profile: CpuProfile };
    cdp.close();
    await writeFile(profileFile!, JSON.stringify(profile));
    log(`CPU profile of the first request written to ${profileFile}`);
  }
  const second = await measured(e, 'GET', '/healthz');
  const session = `edge-${Date.now()}`;
  const turns = { turns: [{ role: 'user', content: 'My name is Ada and I am planning a trip to Lisbon in May.' }] };
  const write1 = await measured(e, 'POST', `/v1/sessions/${session}/turns`, turns);
  const write2 = await measured(e, 'POST', `/v1/sessions/${session}/turns`, turns);
  const query1 = await measured(e, 'POST', `/v1/sessions/${session}/context`, {
    query: 'Where is Ada going?',
    budget_tokens: 500,
  });
  const query2 = await measured(e, 'POST', `/v1/sessions/${session}/context`, {
    query: 'When is the trip?',
    budget_tokens: 500,
  });
  await settle(e, 300, 1500); // the queue jobs of those writes
  expectStatus(await measured(e, 'DELETE', `/v1/sessions/${session}`), 204, 'delete');
  return {
    spawnToReadyMs: e.readyAt - e.started,
    workerdCpuAtReadyMs: atReady,
    first,
    readyToFirstAnswerMs: firstAnsweredAt - e.readyAt,
    spawnToFirstAnswerMs: firstAnsweredAt - e.started,
    firstSentAfterReadyMs: firstSentAt - e.readyAt,
    second,
    write1,
    write2,
    query1,
    query2,
  };
}

interface Sampled {
  label: string;
  cpu: number[];
  main: number[];
  wall: number[];
  /** CPU after the answer until workerd went quiet (waitUntil work; for writes, the queued jobs). */
  after: number[];
  /** The Worker isolate's busy time per request, and after its answer, from the profile (profiled runs only). */
  isolate: number[];
  isolateAfter: number[];
}

const sampled = (label: string): Sampled => ({
  label,
  cpu: [],
  main: [],
  wall: [],
  after: [],
  isolate: [],
  isolateAfter: [],
});

async function session(
  e: Edge,
  o: { turns: number; batch: number; queries: number; budget: number; dataDir: string; profile?: string },
) {
  const corpus = await loadCorpus(o.dataDir);
  if (corpus.questions.length < 2 * o.queries + 1)
    throw new Error(`--queries ${o.queries}: the data has only ${corpus.questions.length} distinct questions`);
  const sessionId = `edge-cpu-${Date.now()}`;
  const floor = sampled('GET /healthz');
  for (let i = 0; i < 20; i++) {
    const m = await measured(e, 'GET', '/healthz');
    expectStatus(m, 200, 'healthz');
    floor.cpu.push(m.cpuMs), floor.main.push(m.mainCpuMs), floor.wall.push(m.ms);
    floor.after.push(await settle(e, 100));
  }

  const writes = sampled(`POST …/turns (${o.batch} turns)`);
  const turnStream = batches(sessionTurns(corpus, o.turns), o.batch);
  let written = 0;
  const writeBatch = async (turns: unknown[], into: Sampled) => {
    const m = await measured(e, 'POST', `/v1/sessions/${sessionId}/turns`, { turns });
    expectStatus(m, 201, 'write');
    into.cpu.push(m.cpuMs), into.main.push(m.mainCpuMs), into.wall.push(m.ms);
    // The local queue delivers after up to max_batch_timeout (1 s): wait for the precompute it triggers.
    const after = await settle(e, 300, 1200);
    if (!Number.isNaN(after)) into.after.push(after);
    return m;
  };
  for (const batch of turnStream) {
    await writeBatch(batch, writes);
    written += batch.length;
    if (written % (o.batch * 10) === 0 || written === o.turns) log(`written ${written}/${o.turns} turns`);
  }

  const ask = (query: string) =>
    measured(e, 'POST', `/v1/sessions/${sessionId}/context`, { query, budget_tokens: o.budget });
  const questions = corpus.questions;
  // The first QueryContext of the session in this isolate also reads the session into its in-memory copy (ADR 0009).
  const first = await ask(`${questions.at(-1)!} (first)`);
  expectStatus(first, 200, 'QueryContext');
  const firstAfter = await settle(e, 150);
  const queries = sampled(`POST …/context (${o.budget} tokens)`);
  const askAll = async (qs: string[], into: Sampled, windows?: [number, number, number][], cached = false) => {
    for (const [i, q] of qs.entries()) {
      const m = await ask(q);
      expectStatus(m, 200, 'QueryContext');
      if (m.json.cached !== cached) throw new Error(`QueryContext: expected cached: ${cached}, got ${m.json.cached}`);
      into.cpu.push(m.cpuMs), into.main.push(m.mainCpuMs), into.wall.push(m.ms);
      const after = await settle(e, 150);
      if (!Number.isNaN(after)) into.after.push(after);
      windows?.push([m.sentUs, m.answeredUs, nowUs()]);
      if ((i + 1) % 25 === 0) log(`${into.label}: ${i + 1}/${qs.length}`);
    }
  };
  await askAll(questions.slice(0, o.queries), queries);
  // The same questions again while the session is unchanged: answered from the cache (as a default query is after
  // the precompute job).
  const hits = sampled('… again (cache hit)');
  await askAll(questions.slice(0, Math.min(o.queries, 20)), hits, undefined, true);

  let profiled: { queries: Sampled; hits: Sampled; writes: Sampled } | undefined;
  if (o.profile) {
    const intervalUs = 100;
    const cdp = await inspect(`ws://127.0.0.1:${e.inspectorPort}/ws`);
    try {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: intervalUs });
      await cdp.send('Profiler.start');
      e.profiling = true;
      // Other questions than the unprofiled run's, so none is answered from the cache.
      const pq = sampled('profiled QueryContext');
      const qWindows: [number, number, number][] = [];
      await askAll(questions.slice(o.queries, 2 * o.queries), pq, qWindows);
      const ph = sampled('profiled cache hit');
      const hWindows: [number, number, number][] = [];
      await askAll(questions.slice(o.queries, o.queries + Math.min(o.queries, 20)), ph, hWindows, true);
      const pw = sampled('profiled write');
      const wWindows: [number, number, number][] = [];
      // Ten more batches, continuing the session's turns.
      const more = [...sessionTurns(corpus, o.turns + 10 * o.batch)].slice(o.turns);
      for (const batch of batches(more, o.batch)) {
        const m = await writeBatch(batch, pw);
        wWindows.push([m.sentUs, m.answeredUs, nowUs()]);
      }
      const { profile } = (await cdp.send('Profiler.stop')) as { profile: CpuProfile };
      e.profiling = false;
      await writeFile(o.profile, JSON.stringify(profile));
      log(`CPU profile of the Worker isolate written to ${o.profile} (one sample every ~${medianGapUs(profile)} µs)`);
      for (const [x, windows] of [
        [pq, qWindows],
        [ph, hWindows],
        [pw, wWindows],
      ] as const) {
        x.isolate = windows.map(([sent, answered]) => busyMsBetween(profile, sent, answered));
        x.isolateAfter = windows.map(([, answered, quiet]) => busyMsBetween(profile, answered, quiet));
      }
      profiled = { queries: pq, hits: ph, writes: pw };
    } finally {
      cdp.close();
    }
  }
  // Nothing stays behind in a shared database: deleting goes through the product too.
  expectStatus(await measured(e, 'DELETE', `/v1/sessions/${sessionId}`), 204, 'delete');
  return { floor, writes, first, firstAfter, queries, hits, profiled };
}

const positive = (name: string, text: string, allowZero = false) => {
  const x = Number(text);
  if (!Number.isInteger(x) || x < (allowZero ? 0 : 1)) throw new Error(`--${name}: expected an integer, got ${text}`);
  return x;
};

async function main(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      'skip-build': { type: 'boolean', default: false },
      database: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/context_engine_bench' },
      data: { type: 'string' },
      turns: { type: 'string', default: '1000' },
      batch: { type: 'string', default: '20' },
      queries: { type: 'string', default: '100' },
      budget: { type: 'string', default: '2000' },
      profile: { type: 'string' },
      'profile-cold': { type: 'string' },
      json: { type: 'string' },
    },
    strict: true,
  });
  if (!/@?(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(values.database!))
    throw new Error(`refusing a non-loopback database: ${values.database}`);
  const o = {
    turns: positive('turns', values.turns!, true),
    batch: positive('batch', values.batch!),
    queries: positive('queries', values.queries!),
    budget: positive('budget', values.budget!),
    dataDir: path.resolve(values.data ?? defaultDataDir),
    profile: values.profile ? path.resolve(values.profile) : undefined,
  };
  const startedAt = new Date();
  const loadStart = os.loadavg();
  let loadMax = loadStart[0]!;
  const sampler = setInterval(() => (loadMax = Math.max(loadMax, os.loadavg()[0]!)), 5_000);
  sampler.unref();

  const b = await bundle(values['skip-build']!);
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  process.stdout.write(
    `Worker bundle ${b.file}: ${kib(b.bytes)} raw, ${kib(b.gzip6)} gzip -6, ${kib(b.gzip9)} gzip -9` +
      `${b.wranglerSays ? ` (wrangler: ${b.wranglerSays})` : ''}\n`,
  );
  log('starting scripts/dev-edge.ts (wrangler dev) from nothing');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-edge-'));
  const edge = await startEdge(values.database!, dataDir);
  let c: Awaited<ReturnType<typeof coldStart>>;
  let s: Awaited<ReturnType<typeof session>> | undefined;
  try {
    log(`workerd running the Worker: pid ${edge.workerd}`);
    c = await coldStart(edge, values['profile-cold'] ? path.resolve(values['profile-cold']) : undefined);
    if (o.turns > 0) {
      log(`session of ${o.turns} turns in batches of ${o.batch}, then ${o.queries} QueryContext requests`);
      s = await session(edge, o);
    }
  } finally {
    edge.stop();
    clearInterval(sampler);
    await rm(dataDir, { recursive: true, force: true });
  }

  const ms = (x: number) => `${x.toFixed(0)} ms`;
  const cpu = (m: Measured) => `${ms(m.ms)}, CPU ${m.cpuMs.toFixed(1)} ms`;
  process.stdout.write(
    [
      '',
      '| step | time |',
      '|---|---:|',
      `| spawn → wrangler "Ready" (stand-ins, migrations, bundling, workerd start) | ${ms(c.spawnToReadyMs)} |`,
      `| workerd CPU until "Ready" (its start, the Worker's module evaluation) | ${ms(c.workerdCpuAtReadyMs)} |`,
      `| first request (GET /healthz, status ${c.first.status}: builds the isolate's dependencies) | ${cpu(c.first)} |`,
      `| "Ready" → first answer | ${ms(c.readyToFirstAnswerMs)} |`,
      `| spawn → first answer | ${ms(c.spawnToFirstAnswerMs)} |`,
      `| second request (GET /healthz) | ${cpu(c.second)} |`,
      `| first write (POST turns, ${c.write1.status}) | ${cpu(c.write1)} |`,
      `| second write (${c.write2.status}) | ${cpu(c.write2)} |`,
      `| first QueryContext (${c.query1.status}) | ${cpu(c.query1)} |`,
      `| second QueryContext (${c.query2.status}) | ${cpu(c.query2)} |`,
      '',
    ].join('\n'),
  );
  const results: { metric: string; value: number; unit: string }[] = [];
  const add = (metric: string, value: number, unit = 'ms') => {
    if (Number.isFinite(value)) results.push({ metric, value: round(value), unit });
  };
  add('bundle_raw', b.bytes / 1024, 'KiB');
  add('bundle_gzip', b.gzip6 / 1024, 'KiB');
  add('spawn_to_ready', c.spawnToReadyMs);
  add('first_request', c.first.ms);
  add('first_request_cpu', c.first.cpuMs);
  add('workerd_cpu_at_ready', c.workerdCpuAtReadyMs);
  add('first_write', c.write1.ms);
  add('first_write_cpu', c.write1.cpuMs);
  if (s) {
    const rows: string[] = [];
    const p = (xs: number[], q: number) => (xs.length ? percentile(xs, q) : Number.NaN);
    const f = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(1));
    const row = (x: Sampled, key: string) => {
      rows.push(
        `| ${x.label} | ${x.cpu.length} | ${f(p(x.cpu, 50))} / ${f(p(x.cpu, 95))} | ${f(p(x.main, 50))} / ${f(p(x.main, 95))} ` +
          `| ${f(p(x.after, 50))} / ${f(p(x.after, 95))} | ${f(p(x.isolate, 50))} / ${f(p(x.isolate, 95))} ` +
          `| ${f(p(x.isolateAfter, 50))} / ${f(p(x.isolateAfter, 95))} ` +
          `| ${f(p(x.wall, 50))} / ${f(p(x.wall, 95))} |`,
      );
      for (const q of [50, 95, 99]) {
        add(`${key}_cpu_p${q}`, p(x.cpu, q));
        add(`${key}_main_cpu_p${q}`, p(x.main, q));
        add(`${key}_wall_p${q}`, p(x.wall, q));
        add(`${key}_after_cpu_p${q}`, p(x.after, q));
        if (x.isolate.length) add(`${key}_isolate_p${q}`, p(x.isolate, q));
        if (x.isolateAfter.length) add(`${key}_isolate_after_p${q}`, p(x.isolateAfter, q));
      }
    };
    row(s.floor, 'healthz');
    row(s.writes, 'write');
    row(s.queries, 'query');
    row(s.hits, 'query_hit');
    if (s.profiled) {
      row(s.profiled.queries, 'profiled_query');
      row(s.profiled.hits, 'profiled_query_hit');
      row(s.profiled.writes, 'profiled_write');
    }
    add('query_first_cpu', s.first.cpuMs);
    add('query_first_wall', s.first.ms);
    process.stdout.write(
      [
        `Session of ${o.turns} turns; workerd CPU per request in ms, p50 / p95 (sequential requests):`,
        '',
        '| request | n | workerd CPU | main thread | after the answer | isolate (profile) | isolate after | wall |',
        '|---|---:|---:|---:|---:|---:|---:|---:|',
        ...rows,
        '',
        `First QueryContext of the session (reads it into the isolate's copy): ${cpu(s.first)}, then ` +
          `${s.firstAfter.toFixed(1)} ms after the answer.`,
        `1-minute load average ${loadStart[0]!.toFixed(2)} at the start, peak ${loadMax.toFixed(2)}.`,
        '',
      ].join('\n'),
    );
  }
  if (values.json) {
    const doc = {
      results,
      meta: {
        started_at: startedAt.toISOString(),
        elapsed_s: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
        turns: o.turns,
        batch: o.batch,
        queries: o.queries,
        budget_tokens: o.budget,
        machine: {
          nproc: os.availableParallelism(),
          cpu: os.cpus()[0]?.model ?? 'unknown',
          node: process.version,
          loadavg_start: loadStart.map((x) => round(x)),
          loadavg_peak_1m: round(loadMax),
          loadavg_end: os.loadavg().map((x) => round(x)),
        },
        code: codeState(),
        notes: [
          'CPU: the workerd process that runs the Worker (all threads, /proc/<pid>/task/*/schedstat), read before each ' +
            'request is sent and after its answer is read; requests are sequential and workerd is quiet in between',
          '"after" is CPU from the answer until workerd is quiet again (waitUntil work; for writes the queued jobs)',
          'isolate: busy samples of the Worker isolate in a V8 CPU profile (100 µs), profiled runs only',
        ],
      },
    };
    await writeFile(values.json, `${JSON.stringify(doc, null, 2)}\n`);
    log(`wrote ${values.json}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`[edge] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
