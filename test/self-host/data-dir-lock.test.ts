// One writer per embedded data directory: a second start is refused naming the holder, nothing written is lost, a
// holder killed with -9 leaves no stuck lock, and `npm run mcp` relays to the running server.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirInUse, lockDataDir } from '../../src/runtime/node/data-dir-lock.js';
import { call, runToExit, startServer, stopAll } from './processes.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const KEY = 'ctx_local_lock-test-key-0123456789';
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'data-dir-lock-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  await stopAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A process that is alive for the length of a test, to stand for another holder. */
function sleeper() {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  return { pid: child.pid!, end: () => child.kill('SIGKILL') };
}

describe('the DATA_DIR lock', () => {
  it('refuses a second holder while the first lives, and names it', () => {
    const dir = tempDir();
    const other = sleeper();
    try {
      writeFileSync(
        path.join(dir, 'lock'),
        JSON.stringify({ pid: other.pid, started: null, command: 'npm start', url: 'http://127.0.0.1:1', since: 'x' }),
      );
      let error: unknown;
      try {
        lockDataDir(dir, 'test');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(DataDirInUse);
      expect((error as Error).message).toContain(`npm start (pid ${other.pid}`);
      expect((error as Error).message).toContain('serving http://127.0.0.1:1');
    } finally {
      other.end();
    }
  });

  it('takes over the lock of a process that is gone, or of a pid now used by another process', () => {
    const dir = tempDir();
    const gone = sleeper();
    gone.end();
    // A pid that was freed, then a live pid whose start time is not the recorded one (the pid was recycled).
    for (const holder of [
      { pid: 2 ** 22 + 7, started: null },
      { pid: process.pid, started: '1' },
    ]) {
      writeFileSync(path.join(dir, 'lock'), JSON.stringify({ ...holder, command: 'npm start', since: 'x' }));
      const lock = lockDataDir(dir, 'test');
      expect(JSON.parse(readFileSync(lock.file, 'utf8'))).toMatchObject({ pid: process.pid, command: 'test' });
      lock.release();
    }
    // Released: the next one takes it at once.
    lockDataDir(dir, 'again').release();
  });

  it('a second start is refused, nothing written is lost, and a start after kill -9 succeeds', async () => {
    const dir = tempDir();
    const env = { DATA_DIR: dir, CONTEXT_API_KEY: KEY };
    const first = await startServer(env);
    const turns = Array.from({ length: 5 }, (_, i) => ({ role: 'user', content: `note ${i} about Lisbon` }));
    expect((await call(first.url, KEY, 'POST', '/v1/sessions/s/turns', { turns })).status).toBe(201);

    const second = await runToExit(env);
    expect(second.code).toBe(1);
    expect(second.output).toContain(`is in use by npm start (pid ${first.pid}`);
    expect(second.output).toContain(`serving ${first.url}`);

    // The first is untouched by the refused start: it still writes, and every turn is there.
    expect((await call(first.url, KEY, 'POST', '/v1/sessions/s/turns', { turns })).status).toBe(201);
    expect((await call(first.url, KEY, 'GET', '/v1/sessions/s/turns?limit=100')).json.turns).toHaveLength(10);

    await first.kill9();
    const third = await startServer(env);
    try {
      const listed = await call(third.url, KEY, 'GET', '/v1/sessions/s/turns?limit=100');
      expect(listed.json.turns.map((t: { sequence: number }) => t.sequence)).toEqual(
        Array.from({ length: 10 }, (_, i) => i + 1),
      );
      expect(JSON.parse(readFileSync(path.join(dir, 'lock'), 'utf8'))).toMatchObject({ url: third.url });
    } finally {
      await third.stop();
    }
    // A clean stop removes the lock.
    expect(() => readFileSync(path.join(dir, 'lock'))).toThrow();
  }, 180_000);

  it('npm run mcp on a DATA_DIR the server holds relays to the server', async () => {
    const dir = tempDir();
    const server = await startServer({ DATA_DIR: dir, CONTEXT_API_KEY: KEY });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', 'src/mcp/stdio.ts'],
      cwd: ROOT,
      env: { ...(process.env as Record<string, string>), DATA_DIR: dir, CONTEXT_API_KEY: KEY, LOG_LEVEL: 'info' },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'relay-test', version: '1.0.0' });
    try {
      await client.connect(transport);
      const written = await client.callTool({
        name: 'write_turns',
        arguments: { session_id: 'relayed', turns: [{ role: 'user', content: 'Written through the relay.' }] },
      });
      expect(written.isError, JSON.stringify((written as CallToolResult).content)).toBeFalsy();
    } finally {
      await client.close();
    }
    expect(stderr).toContain('relaying MCP over stdio to the running server');
    // The server itself stored the turn: there is one database and one writer.
    const listed = await call(server.url, KEY, 'GET', '/v1/sessions/relayed/turns');
    expect(listed.json.turns.map((t: { content: string }) => t.content)).toEqual(['Written through the relay.']);
    await server.stop();
  }, 180_000);
});
