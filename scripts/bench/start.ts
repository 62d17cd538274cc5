// Start time and resident memory of the server: `npx tsx scripts/bench/start.ts [--runs 5] [--settle-ms 2000]
// [--commands npm,bin] [--env NAME=value]… [--node-args='--flag …']`. For each command, on a new DATA_DIR and then on the same (existing)
// directory: milliseconds from spawning the command to the first 200 from GET /healthz, and the server process's
// resident set (VmRSS in /proc) `--settle-ms` after that, with its peak so far (VmHWM); and the CPU time the command's
// processes had used by the first answer (all threads, children that exited included), steadier than wall time on a
// busy machine. Medians over the runs. `--turns N`: then, on the existing directory, write N turns (batches of 100
// over 10 sessions) and ask 100 contexts, and report the server's resident set and peak after that.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { descendants, processTable } from './proc.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const COMMANDS: Record<string, string[]> = {
  npm: ['npm', 'start', '--silent'],
  bin: [process.execPath, 'bin/context-engine.js', 'start'],
};

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    'settle-ms': { type: 'string', default: '2000' },
    commands: { type: 'string', default: 'npm,bin' },
    env: { type: 'string', multiple: true, default: [] },
    'node-args': { type: 'string', default: '' },
    turns: { type: 'string', default: '0' },
  },
});
const runs = Number(values.runs);
// Node options for the compiled command (V8 flags are not accepted in NODE_OPTIONS).
if (values['node-args']) COMMANDS.bin!.splice(1, 0, ...values['node-args'].split(' '));
const settleMs = Number(values['settle-ms']);
const extraEnv = Object.fromEntries(
  values.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);

interface Sample {
  /** After the `--turns` workload, when there was one. */
  afterTurns?: { rssMb: number; peakMb: number; seconds: number };
  firstAnswerMs: number;
  cpuMs: number;
  rssMb: number;
  peakMb: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The process ids under `root` (children, grandchildren …), from /proc. */
const below = (root: number) => descendants(processTable(), root);

/** Whether a process of process group `pgid` is still running (children outlive npm, and are reparented). */
const inGroup = (pgid: number) => processTable().some((p) => p.pgrp === pgid);

/** CPU time of `pids` and of their children that have exited, in ms (clock ticks of 10 ms). */
function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const p of processTable()) if (pids.includes(p.pid)) ticks += p.utime + p.stime + p.cutime + p.cstime;
  return ticks * 10;
}

/** The server's memory: the largest process under the command (npm and sh are small; initdb's child has exited). */
const serverMemory = (root: number) =>
  below(root)
    .concat(root)
    .map(memoryMb)
    .filter((m) => m !== undefined)
    .sort((a, b) => b.rss - a.rss)[0]!;

function memoryMb(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

const WORDS = (
  'lisbon apartment alfama budget flight hotel museum tram river castle dinner wine coffee pastry market train ' +
  'ticket booking refund weather rain sunny beach surf tile bridge tower garden walk tour guide map street night'
).split(' ');

/** Writes `turns` turns and asks 100 contexts through the API, as a client would; the key is the local one. */
async function workload(url: string, dataDir: string, turns: number): Promise<void> {
  const key = readFileSync(path.join(dataDir, 'api-key'), 'utf8').trim();
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  let seed = 1;
  const word = () => WORDS[(seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % WORDS.length]!;
  const sentence = (n: number) => Array.from({ length: n }, word).join(' ');
  const post = async (route: string, body: unknown) => {
    const res = await fetch(url + route, { method: 'POST', headers, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
  };
  for (let written = 0; written < turns; written += 100) {
    const session = `bench-${(written / 100) % 10}`;
    const batch = Array.from({ length: Math.min(100, turns - written) }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `${sentence(12)} ${written + i}. ${sentence(20)}`,
    }));
    await post(`/v1/sessions/${session}/turns`, { turns: batch });
  }
  for (let q = 0; q < 100; q++)
    await post(`/v1/sessions/bench-${q % 10}/context`, { query: sentence(8), budget_tokens: 2000 });
}

async function once(command: string[], dataDir: string, turns = 0): Promise<Sample> {
  const port = await freePort();
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'NODE_OPTIONS']) if (!(name in extraEnv)) delete env[name];
  const started = performance.now();
  const child: ChildProcess = spawn(command[0]!, command.slice(1), { cwd: ROOT, env, stdio: 'ignore', detached: true });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  try {
    let firstAnswerMs = 0;
    let cpu = 0;
    while (!firstAnswerMs) {
      if (exited) throw new Error(`${command.join(' ')} exited before answering`);
      if (performance.now() - started > 120_000) throw new Error('no answer within 120 s');
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) {
        firstAnswerMs = performance.now() - started;
        cpu = cpuMs([child.pid!, ...below(child.pid!)]);
      } else await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, settleMs));
    const server = serverMemory(child.pid!);
    const sample: Sample = { firstAnswerMs, cpuMs: cpu, rssMb: server.rss, peakMb: server.peak };
    if (turns > 0) {
      const began = performance.now();
      await workload(`http://127.0.0.1:${port}`, dataDir, turns);
      const seconds = (performance.now() - began) / 1000;
      const after = serverMemory(child.pid!);
      sample.afterTurns = { rssMb: after.rss, peakMb: after.peak, seconds };
    }
    return sample;
  } finally {
    if (!exited) process.kill(-child.pid!, 'SIGTERM');
    await exit;
    // npm exits before its child: wait until no process of the group is left (the server releases the directory).
    for (let i = 0; i < 400 && inGroup(child.pid!); i++) await new Promise((r) => setTimeout(r, 25));
  }
}

const afterTurns: string[] = [];
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${runs} runs; env ${JSON.stringify(extraEnv)}`,
);
console.log(
  '| command | directory | first answer ms (median, min–max) | CPU ms by then | RSS MB after start | peak MB |',
);
console.log('|---|---|---:|---:|---:|---:|');
for (const name of values.commands.split(',')) {
  const command = COMMANDS[name];
  if (!command) throw new Error(`unknown command ${name} (${Object.keys(COMMANDS).join(', ')})`);
  const samples: Record<'new' | 'existing', Sample[]> = { new: [], existing: [] };
  for (let i = 0; i < runs; i++) {
    const parent = mkdtempSync(path.join(tmpdir(), 'ctx-start-'));
    try {
      samples.new.push(await once(command, parent));
      samples.existing.push(await once(command, parent, Number(values.turns)));
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  }
  const worked = samples.existing.flatMap((s) => (s.afterTurns ? [s.afterTurns] : []));
  if (worked.length)
    afterTurns.push(
      `| ${name} | ${median(worked.map((w) => w.seconds)).toFixed(1)} | ` +
        `${median(worked.map((w) => w.rssMb)).toFixed(0)} | ${median(worked.map((w) => w.peakMb)).toFixed(0)} |`,
    );
  for (const [kind, xs] of Object.entries(samples)) {
    const ms = xs.map((s) => s.firstAnswerMs);
    console.log(
      `| ${name} | ${kind} | ${median(ms).toFixed(0)} (${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)}) | ` +
        `${median(xs.map((s) => s.cpuMs)).toFixed(0)} | ${median(xs.map((s) => s.rssMb)).toFixed(0)} | ${median(xs.map((s) => s.peakMb)).toFixed(0)} |`,
    );
  }
}
if (afterTurns.length) {
  console.log(`\nafter ${values.turns} turns written and 100 contexts asked (existing directory):`);
  console.log('| command | seconds | RSS MB | peak MB |\n|---|---:|---:|---:|');
  for (const row of afterTurns) console.log(row);
}
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
