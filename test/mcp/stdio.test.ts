// MCP over stdio: the SDK's client spawns `npx tsx src/mcp/stdio.ts` on a fresh DATA_DIR, as an agent host would.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { turns3 } from '../helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const texts = (r: unknown) => (r as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : ''));

async function start(env: Record<string, string>): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: 'npx',
    args: ['tsx', 'src/mcp/stdio.ts'],
    cwd: ROOT,
    env: { ...(process.env as Record<string, string>), LOG_LEVEL: 'info', ...env },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const client = new Client({ name: 'context-engine-stdio-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => err };
}

describe('MCP over stdio', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mcp-stdio-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('lists tools, writes turns and queries context on an embedded database in DATA_DIR', async () => {
    const { client, stderr } = await start({ DATA_DIR: dataDir });
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(
        expect.arrayContaining(['write_turns', 'query_context', 'search_history', 'delete_session']),
      );

      const written = await client.callTool({ name: 'write_turns', arguments: { session_id: 'trip', turns: turns3 } });
      expect(written.isError).toBeFalsy();
      expect(JSON.parse(texts(written)[0]!).turns).toHaveLength(3);

      const context = await client.callTool({
        name: 'query_context',
        arguments: { session_id: 'trip', query: 'Where to stay?', budget_tokens: 300 },
      });
      expect(texts(context)[0]).toContain('Apartments near Alfama, budget 120 euros per night.');
      expect(texts(context)[0]).toContain('<data');
    } finally {
      await client.close();
    }
    // Logs went to stderr, so stdout stayed clean for the protocol; the local key was kept for the next start.
    expect(stderr()).toContain('MCP server on stdio');
    expect(existsSync(path.join(dataDir, 'api-key'))).toBe(true);
  }, 120_000);

  it('keeps the data for the next start with the same DATA_DIR', async () => {
    const key = readFileSync(path.join(dataDir, 'api-key'), 'utf8').trim();
    const { client } = await start({ DATA_DIR: dataDir, CONTEXT_API_KEY: key });
    try {
      const found = await client.callTool({
        name: 'search_history',
        arguments: { session_id: 'trip', query: 'Lisbon' },
      });
      expect(JSON.parse(texts(found)[0]!).results[0].content).toContain('Lisbon');
    } finally {
      await client.close();
    }
  }, 120_000);
});
