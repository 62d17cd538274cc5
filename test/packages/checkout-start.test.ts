// `npm start` in a fresh checkout: no dist/ yet, so the bin compiles the sources first and serves from the bundle;
// after a source changes, the next start compiles again, and an unchanged checkout starts without compiling.
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../start-server.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Runs the checkout's `start` script until it serves; returns what it printed to stderr. */
async function startOnce(checkout: string, dataDir: string, env: Record<string, string> = {}): Promise<string> {
  const server = await startServer(dataDir, env, checkout);
  try {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    return server.stderr;
  } finally {
    await server.stop();
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

    // The bin keeps the modules' compiled code in the temporary directory (on a Node that has the cache); not through
    // NODE_COMPILE_CACHE, which would turn the cache on by itself.
    const temporary = mkdtempSync(path.join(dir, 'tmp-'));
    const compileCache = path.join(temporary, 'node-compile-cache');
    expect(await startOnce(checkout, data, { TMPDIR: temporary })).not.toContain('compiling');
    expect(statSync(built).mtimeMs).toBe(firstBuild);
    const cached = existsSync(compileCache) ? readdirSync(compileCache, { recursive: true }).length : 0;
    expect(cached > 0).toBe(typeof module.enableCompileCache === 'function');

    const later = new Date(Date.now() + 2_000);
    utimesSync(path.join(checkout, 'src/errors.ts'), later, later);
    expect(await startOnce(checkout, data)).toContain('compiling src/ to dist/');
    expect(statSync(built).mtimeMs).toBeGreaterThan(firstBuild);
  }, 180_000);
});
