// `npm start` in a fresh checkout: no dist/ yet, so the bin compiles the sources first and serves from the bundle;
// after a source changes, the next start compiles again, and an unchanged checkout starts without compiling.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Runs the checkout's `start` script until /healthz answers; returns what it printed to stderr. */
async function startOnce(checkout: string, dataDir: string): Promise<string> {
  const pkg = JSON.parse(readFileSync(path.join(checkout, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [command, ...args] = pkg.scripts.start.split(' ');
  expect(command).toBe('node');
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
  for (const name of ['DATABASE_URL', 'REDIS_URL']) delete env[name];
  const child = spawn(process.execPath, args, { cwd: checkout, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner within 60 s; stderr: ${stderr}`)), 60_000);
      child.once('exit', (code) => reject(new Error(`exited with ${code}; stderr: ${stderr}`)));
      child.stdout.on('data', (d: Buffer) => {
        stdout += d;
        const found = stdout.match(/listening on (http:\/\/\S+)/)?.[1];
        if (found) clearTimeout(timer), resolve(found);
      });
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    return stderr;
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

describe('npm start in a fresh checkout', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctx-checkout-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles on the first start and again only after a source changed', async () => {
    const checkout = path.join(dir, 'checkout');
    for (const entry of ['package.json', 'bin', 'scripts/build', 'src', 'migrations', 'assets'])
      cpSync(path.join(ROOT, entry), path.join(checkout, entry), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'));
    const data = path.join(dir, 'data');

    expect(await startOnce(checkout, data)).toContain('compiling src/ to dist/');
    const built = path.join(checkout, 'dist/runtime/node/main.js');
    expect(existsSync(built)).toBe(true);
    const firstBuild = statSync(built).mtimeMs;

    expect(await startOnce(checkout, data)).not.toContain('compiling');
    expect(statSync(built).mtimeMs).toBe(firstBuild);

    const later = new Date(Date.now() + 2_000);
    utimesSync(path.join(checkout, 'src/errors.ts'), later, later);
    expect(await startOnce(checkout, data)).toContain('compiling src/ to dist/');
    expect(statSync(built).mtimeMs).toBeGreaterThan(firstBuild);
  }, 180_000);
});
