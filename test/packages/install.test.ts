// The packages as a user gets them: both packed with `npm pack`, installed into an empty folder without
// devDependencies, the server started from its bin on this machine's system Node, the README walk-through and the AI
// SDK adapter run through the installed client (ESM and CommonJS), and the client's types checked on their own.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionJson, startModelServer } from '../model-server.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
// The system's Node when there is one (the production install must start on it), else the one running the tests.
const SYSTEM_NODE = existsSync('/usr/bin/node') ? '/usr/bin/node' : process.execPath;
// PATH without the project's node_modules/.bin, so `#!/usr/bin/env node` in the bin finds the system's Node.
const PATH = [path.dirname(SYSTEM_NODE), ...(process.env.PATH ?? '').split(path.delimiter)]
  .filter((dir) => !dir.includes('node_modules'))
  .join(path.delimiter);

const devDependency = (name: string): string =>
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).devDependencies[name];

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`server exited (${server.exitCode}):\n${log()}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server did not answer /healthz:\n${log()}`);
}

// The README walk-through through the installed client: three turns, context within a budget, memory across a
// user's sessions, a rebuild, a delete.
const walkthrough = `
import { readFileSync } from 'node:fs';
import { ContextApiError, ContextClient } from 'context-engine-client';
const engine = new ContextClient({ baseUrl: process.argv[2], apiKey: readFileSync('data/api-key', 'utf8').trim() });
const out = { node: process.version };
out.written = await engine.writeTurns('trip-1', { turns: [
  { role: 'user', content: 'My name is Ada and I am planning a trip to Lisbon in May.' },
  { role: 'assistant', content: 'Great, Lisbon in May is lovely. Do you prefer hotels or apartments?' },
  { role: 'user', content: 'Apartments near Alfama, budget 120 euros per night.' },
] });
const ctx = await engine.queryContext('trip-1', { query: 'Where does Ada want to stay?', budget_tokens: 300 });
out.context = { token_count: ctx.token_count, text: ctx.rendered.text, roles: ctx.rendered.messages.map((m) => m.role) };
await engine.writeTurns('ada-may', { user_id: 'ada', agent_id: 'travel', turns: [
  { role: 'user', content: 'We live in Lisbon. My daughter Mira is allergic to peanuts.' },
  { role: 'assistant', content: 'Noted: no peanuts for Mira.' },
] });
await engine.writeTurns('ada-aug', { user_id: 'ada', agent_id: 'travel', turns: [
  { role: 'user', content: 'We moved to Porto last week.' },
] });
const q = 'Any snack ideas for my daughter for the train from where we live now?';
await engine.writeTurns('ada-sep', { user_id: 'ada', agent_id: 'travel', turns: [{ role: 'user', content: q }] });
out.recall = (await engine.queryContext('ada-sep', { query: q, budget_tokens: 400 })).rendered.text;
out.rebuild = await engine.rebuild('trip-1', { strategy: 'summarize' });
await engine.deleteSession('trip-1');
out.afterDelete = await engine.getSession('trip-1').then(() => 'found', (e) => e instanceof ContextApiError ? e.code : String(e));
console.log(JSON.stringify(out));
`;

// The AI SDK adapter from the installed package, with the real library, against the local model stand-in.
const adapter = `
import { readFileSync } from 'node:fs';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, wrapLanguageModel } from 'ai';
import { ContextClient } from 'context-engine-client';
import { contextEngineMiddleware } from 'context-engine-client/ai-sdk';
const [url, modelUrl] = process.argv.slice(2);
const client = new ContextClient({ baseUrl: url, apiKey: readFileSync('data/api-key', 'utf8').trim() });
const provider = createOpenAICompatible({ name: 'stand-in', baseURL: modelUrl, apiKey: 'k' });
const model = wrapLanguageModel({ model: provider.chatModel('m'), middleware: contextEngineMiddleware({ client, sessionId: 'pkg-ai' }) });
const first = await generateText({ model, prompt: 'I am planning a trip to Lisbon in May.' });
const second = await generateText({ model, prompt: 'Where am I going?' });
console.log(JSON.stringify([first.text, second.text]));
`;

const consumer = `
import { ContextClient, type QueryContextResult, type WriteTurnsRequest } from 'context-engine-client';
const engine = new ContextClient({ baseUrl: 'http://127.0.0.1:8787', apiKey: 'k', timeoutMs: 5000, maxRetries: 1 });
const body: WriteTurnsRequest = { turns: [{ role: 'user', content: 'hi' }] };
export async function turn(): Promise<string> {
  await engine.writeTurns('s', body, { idempotencyKey: 'k-1' });
  const ctx: QueryContextResult = await engine.queryContext('s', { budget_tokens: 200 });
  return ctx.rendered.messages.map((m) => m.content).join('\\n');
}
// @ts-expect-error a role the API does not know
export const wrong: WriteTurnsRequest = { turns: [{ role: 'robot', content: 'x' }] };
`;

describe('packages', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'packages-'));
  const app = path.join(dir, 'app');
  let server: ChildProcess | undefined;
  let url = '';
  let output = '';

  beforeAll(async () => {
    const packed = path.join(dir, 'packed');
    mkdirSync(packed);
    mkdirSync(app);
    for (const pkg of [ROOT, path.join(ROOT, 'packages/client')])
      await run('npm', ['pack', '--silent', '--pack-destination', packed], { cwd: pkg, maxBuffer: 1 << 24 });
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run(
      'npm',
      [
        'install',
        '--omit=dev',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        path.join(packed, 'context-engine-0.1.0.tgz'),
        path.join(packed, 'context-engine-client-0.1.0.tgz'),
        // One adapter's framework, an optional peer the user installs beside the client.
        `ai@${devDependency('ai')}`,
        `@ai-sdk/openai-compatible@${devDependency('@ai-sdk/openai-compatible')}`,
      ],
      { cwd: app, maxBuffer: 1 << 24 },
    );
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = spawn(path.join(app, 'node_modules/.bin/context-engine'), ['start'], {
      cwd: app,
      env: { PATH, HOME: app, DATA_DIR: path.join(app, 'data'), PORT: String(port), HOST: '127.0.0.1' },
    });
    server.stdout?.on('data', (d: Buffer) => (output += d));
    server.stderr?.on('data', (d: Buffer) => (output += d));
    await waitForHealth(url, server, () => output);
  }, 300_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    // ~450 MB of installed packages take tens of seconds to delete on a busy disk: removed in the background.
    spawn('rm', ['-rf', dir], { detached: true, stdio: 'ignore' }).unref();
  });

  it('installs without devDependencies and starts from the bin on the system Node', async () => {
    expect(output).toContain(`context engine listening on ${url}`);
    const installed = JSON.parse(readFileSync(path.join(app, 'node_modules/context-engine/package.json'), 'utf8'));
    expect(installed.bin).toEqual({ 'context-engine': 'bin/context-engine.js' });
    // Compiled: no TypeScript and no tsx in the installed package or among what it pulled in.
    expect(existsSync(path.join(app, 'node_modules/context-engine/dist/runtime/node/main.js'))).toBe(true);
    expect(existsSync(path.join(app, 'node_modules/context-engine/src'))).toBe(false);
    expect(existsSync(path.join(app, 'node_modules/tsx'))).toBe(false);
    const { stdout } = await run(path.join(app, 'node_modules/.bin/context-engine'), ['help'], { env: { PATH } });
    for (const command of ['start', 'mcp', 'keys', 'migrate']) expect(stdout).toContain(`context-engine ${command}`);
  });

  it('runs migrate, keys and mcp from the bin, on a data dir of their own', async () => {
    const bin = path.join(app, 'node_modules/.bin/context-engine');
    const env = { PATH, HOME: app, DATA_DIR: path.join(app, 'tools-data'), LOG_LEVEL: 'warn' };
    expect((await run(bin, ['migrate'], { cwd: app, env })).stdout).toContain('migrations are up to date');
    const created = await run(bin, ['keys', 'create', '--tenant', 'acme'], { cwd: app, env });
    expect(created.stdout).toMatch(/created key \S+ for tenant acme with scopes read,write/);
    expect((await run(bin, ['keys', 'list'], { cwd: app, env })).stdout).toContain('1 key(s)');

    const mcp = new Client({ name: 'package-test', version: '1.0.0' });
    const transport = new StdioClientTransport({ command: bin, args: ['mcp'], cwd: app, env });
    await mcp.connect(transport);
    const pid = transport.pid;
    try {
      expect((await mcp.listTools()).tools.map((t) => t.name)).toContain('query_context');
    } finally {
      await mcp.close();
      // The server closes its database when stdin ends; wait for it before the folder is removed.
      while (pid && alive(pid)) await new Promise((r) => setTimeout(r, 100));
    }
  }, 120_000);

  it('runs the README walk-through through the installed client', async () => {
    writeFileSync(path.join(app, 'walkthrough.mjs'), walkthrough);
    const { stdout } = await run(SYSTEM_NODE, ['walkthrough.mjs', url], { cwd: app, env: { PATH } });
    const out = JSON.parse(stdout);
    if (SYSTEM_NODE === '/usr/bin/node') expect(out.node).toBe((await run(SYSTEM_NODE, ['--version'])).stdout.trim());
    expect(out.written).toMatchObject({ session_id: 'trip-1', session_created: true, replayed: false });
    expect(out.written.turns.map((t: { sequence: number }) => t.sequence)).toEqual([1, 2, 3]);
    expect(out.context.token_count).toBeLessThanOrEqual(300);
    expect(out.context.text).toContain('Apartments near Alfama');
    expect(out.context.roles).toEqual(['system', 'user']);
    expect(out.recall).toContain('allergic to peanuts');
    expect(out.recall).toContain('We moved to Porto last week.');
    expect(out.recall).toMatch(/<data session="ada-aug"[^>]*latest="true">/);
    expect(out.rebuild).toMatchObject({ status: 'queued' });
    expect(out.afterDelete).toBe('NOT_FOUND');
  });

  it('loads the client from CommonJS too, and resolves the adapters (optional peers, not installed)', async () => {
    const script = [
      "const c = require('context-engine-client');",
      'console.log(typeof c.ContextClient, typeof c.ContextApiError);',
      "for (const a of ['ai-sdk', 'openai-agents', 'langchain'])",
      "  console.log(require('node:path').basename(require.resolve('context-engine-client/' + a)));",
    ].join('\n');
    const { stdout } = await run(SYSTEM_NODE, ['-e', script], { cwd: app, env: { PATH } });
    expect(stdout.trim().split('\n')).toEqual([
      'function function',
      'ai-sdk.cjs',
      'openai-agents.cjs',
      'langchain.cjs',
    ]);
  });

  it('runs the AI SDK adapter from the installed package with the real library', async () => {
    const model = await startModelServer(({ body }) => {
      const texts = body.messages.map((m: { content: unknown }) => JSON.stringify(m.content));
      const going = texts.at(-1).includes('Where am I going');
      const known = texts.slice(0, -1).join('\n').includes('Lisbon in May');
      return { json: completionJson(body.model, !going ? 'Noted.' : known ? 'Lisbon.' : 'I do not know.') };
    });
    try {
      writeFileSync(path.join(app, 'adapter.mjs'), adapter);
      const { stdout } = await run(SYSTEM_NODE, ['adapter.mjs', url, model.url], { cwd: app, env: { PATH } });
      expect(JSON.parse(stdout)).toEqual(['Noted.', 'Lisbon.']);
    } finally {
      await model.close();
    }
  }, 60_000);

  it("type-checks a program against the client's declarations alone", async () => {
    writeFileSync(path.join(app, 'consumer.ts'), consumer);
    // Only the client's declarations: no @types, no lib checks skipped.
    const compilerOptions = { noEmit: true, strict: true, module: 'nodenext', lib: ['es2022', 'dom'], types: [] };
    writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
    const tsc = () =>
      run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: app });
    await tsc();
    // The same program with a type error fails: the check is real.
    writeFileSync(path.join(app, 'consumer.ts'), consumer.replace('budget_tokens: 200', "budget_tokens: '200'"));
    const failed = await tsc().then(
      () => '',
      (e: { stdout: string }) => e.stdout,
    );
    expect(failed).toContain("Type 'string' is not assignable to type 'number'");
  }, 60_000);
});
