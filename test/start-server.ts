// `npm start` as a child process on a temporary DATA_DIR and a free port, for tests of what a user runs.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

export interface Started {
  stdout: string;
  /** What it printed to stderr so far. */
  stderr: string;
  url: string;
  stop(): Promise<void>;
}

/**
 * Runs the `start` script as npm would (its own command line) in `checkout` (this one unless given), and resolves
 * once the banner is printed.
 */
export function startServer(
  dataDir: string,
  extraEnv: Record<string, string> = {},
  checkout: string = ROOT,
): Promise<Started> {
  const pkg = JSON.parse(readFileSync(path.join(checkout, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [command, ...args] = pkg.scripts.start.split(' ');
  expect(command).toBe('node');
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'CONTEXT_API_KEY', 'CONTEXT_ADMIN_KEY'])
    if (!(name in extraEnv)) delete env[name];
  const child = spawn(process.execPath, args, { cwd: checkout, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`no banner within 60 s; stderr: ${stderr.slice(-2000)}`));
    }, 60_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.once('exit', (code) => reject(new Error(`exited with ${code}; stderr: ${stderr.slice(-2000)}`)));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      const url = stdout.match(/listening on (http:\/\/\S+)/)?.[1];
      // The banner ends with the `try:` line.
      if (url && /^\s+try:.*\n/m.test(stdout)) {
        clearTimeout(timer);
        resolve({
          get stdout() {
            return stdout;
          },
          get stderr() {
            return stderr;
          },
          url,
          stop: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
  });
}
