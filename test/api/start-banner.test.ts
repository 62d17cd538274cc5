// The `npm start` banner on a fresh DATA_DIR: it names the API, /docs, /inspect and /mcp, each of which answers, and
// its `try:` command, run as printed by a shell, succeeds against the new, empty database.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type Started } from '../start-server.js';

describe('the start banner', () => {
  let dataDir: string;
  let server: Started;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'ctx-banner-'));
    server = await startServer(dataDir);
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const line = (label: string) => server.stdout.match(new RegExp(`^\\s+${label}:\\s+(.*)$`, 'm'))?.[1];

  it('lists the API, the reference, the inspector and MCP, and each answers there', async () => {
    expect(line('API')).toBe(`${server.url}/v1  (OpenAPI: ${server.url}/openapi.json)`);
    expect(line('docs')).toBe(`${server.url}/docs`);
    expect(line('inspect')).toBe(`${server.url}/inspect`);
    expect(line('MCP')).toMatch(new RegExp(`^${server.url}/mcp\\b`));
    for (const page of ['/docs', '/inspect', '/openapi.json'])
      expect((await fetch(server.url + page)).status).toBe(200);
    // /mcp is there, and asks for the key like the API.
    const mcp = await fetch(`${server.url}/mcp`, { method: 'POST', body: '{}' });
    expect(mcp.status).toBe(401);
  });

  it('prints a try command that works on the new database', () => {
    const command = line('try')!;
    expect(command).toMatch(/^curl -s /);
    const run = spawnSync('sh', ['-c', `${command} -w '\\n%{http_code}'`], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status, run.stderr).toBe(0);
    const [body, status] = [run.stdout.slice(0, run.stdout.lastIndexOf('\n')), run.stdout.split('\n').pop()];
    expect(status).toBe('201');
    const answer = JSON.parse(body);
    expect(answer.session_created).toBe(true);
    expect(answer.context.token_count).toBeGreaterThan(0);
    expect(answer.context.token_count).toBeLessThanOrEqual(500);
    expect(answer.context.rendered.text).toContain('Alfama');
  });
});
