// npx tsx scripts/bench/edge.ts [--skip-build] [--database postgres://127.0.0.1:5432/context_engine_bench]
// The Worker's bundle size (raw, gzip) and cold start under wrangler dev: to "Ready", first answer, tokenizer loaded.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

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

async function timed(url: string, init?: RequestInit): Promise<{ ms: number; status: number }> {
  const t0 = performance.now();
  const res = await fetch(url, init);
  await res.arrayBuffer();
  return { ms: performance.now() - t0, status: res.status };
}

async function coldStart(database: string) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-edge-'));
  const port = 22000 + Math.floor(Math.random() * 20000);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_URL: database,
    LOG_LEVEL: 'warn',
  };
  delete env.CONTEXT_API_KEY; // dev-edge then generates a key in the scratch DATA_DIR and prints it
  const started = performance.now();
  // Its own process group, so stopping it also stops wrangler and workerd, and nothing else.
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev-edge.ts'], {
    cwd: projectRoot,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let output = '';
  let apiKey = '';
  const ready = new Promise<number>((resolve, reject) => {
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
  const stop = () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  try {
    const readyAt = await ready;
    const base = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    // Retry until the first answer: "Ready" can precede the listener by a moment.
    let first: { ms: number; status: number } | undefined;
    const firstSentAt = performance.now();
    for (let i = 0; i < 100 && !first; i++) {
      try {
        first = await timed(`${base}/healthz`);
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const firstAnsweredAt = performance.now();
    const second = await timed(`${base}/healthz`);
    const session = `edge-${Date.now()}`;
    const turns = { turns: [{ role: 'user', content: 'My name is Ada and I am planning a trip to Lisbon in May.' }] };
    const write1 = await timed(`${base}/v1/sessions/${session}/turns`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify(turns),
    });
    const write2 = await timed(`${base}/v1/sessions/${session}/turns`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify(turns),
    });
    const query1 = await timed(`${base}/v1/sessions/${session}/context`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ query: 'Where is Ada going?', budget_tokens: 500 }),
    });
    const query2 = await timed(`${base}/v1/sessions/${session}/context`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ query: 'When is the trip?', budget_tokens: 500 }),
    });
    return {
      spawnToReadyMs: readyAt - started,
      firstRequestMs: first?.ms ?? Number.NaN,
      firstStatus: first?.status ?? 0,
      readyToFirstAnswerMs: firstAnsweredAt - readyAt,
      spawnToFirstAnswerMs: firstAnsweredAt - started,
      firstSentAfterReadyMs: firstSentAt - readyAt,
      secondRequestMs: second.ms,
      firstWrite: write1,
      secondWrite: write2,
      firstQuery: query1,
      secondQuery: query2,
    };
  } finally {
    stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      'skip-build': { type: 'boolean', default: false },
      database: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/context_engine_bench' },
    },
    strict: true,
  });
  if (!/@?(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(values.database))
    throw new Error(`refusing a non-loopback database: ${values.database}`);
  const b = await bundle(values['skip-build']);
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  process.stdout.write(
    `Worker bundle ${b.file}: ${kib(b.bytes)} raw, ${kib(b.gzip6)} gzip -6, ${kib(b.gzip9)} gzip -9` +
      `${b.wranglerSays ? ` (wrangler: ${b.wranglerSays})` : ''}\n`,
  );
  log('starting scripts/dev-edge.ts (wrangler dev) from nothing');
  const c = await coldStart(values.database);
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  process.stdout.write(
    [
      '',
      '| step | time |',
      '|---|---:|',
      `| spawn → wrangler "Ready" (stand-ins, migrations, bundling, workerd start) | ${ms(c.spawnToReadyMs)} |`,
      `| first request (GET /healthz, status ${c.firstStatus}) | ${ms(c.firstRequestMs)} |`,
      `| "Ready" → first answer | ${ms(c.readyToFirstAnswerMs)} |`,
      `| spawn → first answer | ${ms(c.spawnToFirstAnswerMs)} |`,
      `| second request (GET /healthz) | ${ms(c.secondRequestMs)} |`,
      `| first write (POST turns, ${c.firstWrite.status}; loads the tokenizer in the isolate) | ${ms(c.firstWrite.ms)} |`,
      `| second write (${c.secondWrite.status}) | ${ms(c.secondWrite.ms)} |`,
      `| first QueryContext (${c.firstQuery.status}) | ${ms(c.firstQuery.ms)} |`,
      `| second QueryContext (${c.secondQuery.status}) | ${ms(c.secondQuery.ms)} |`,
      '',
    ].join('\n'),
  );
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`[edge] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
