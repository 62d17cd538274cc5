// The Python client's own tests (clients/python, `python3 -m unittest discover`) against `npm start` on a fresh
// embedded database: they create their tenants with the admin key and put a fault-injecting proxy in front.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type Started } from '../start-server.js';

const CLIENT_DIR = path.resolve(import.meta.dirname, '../../clients/python');
const ADMIN_KEY = `admin-${crypto.randomUUID()}`;

describe('the Python client', () => {
  let dataDir: string;
  let server: Started;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'ctx-python-'));
    server = await startServer(dataDir, { CONTEXT_ADMIN_KEY: ADMIN_KEY });
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('passes its unittest suite against the running server', { timeout: 180_000 }, () => {
    const run = spawnSync('python3', ['-m', 'unittest', 'discover', '-v'], {
      cwd: CLIENT_DIR,
      env: { ...process.env, CONTEXT_ENGINE_URL: server.url, CONTEXT_ENGINE_ADMIN_KEY: ADMIN_KEY },
      encoding: 'utf8',
      timeout: 170_000,
    });
    // python3 is required here, as on CI: a missing interpreter fails this test rather than skipping it.
    expect(run.error, 'python3 must be installed').toBeUndefined();
    expect(run.status, run.stderr.slice(-4000)).toBe(0);
    const ran = Number(run.stderr.match(/^Ran (\d+) tests?/m)?.[1] ?? 0);
    expect(ran).toBeGreaterThanOrEqual(13);
    expect(run.stderr).toMatch(/^OK$/m);
  });
});
