// MCP over Streamable HTTP at /mcp: the SDK's own client against the app served on a real port.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { listen } from '../browser.js';
import { harness, tenant, turns3, type Harness } from '../helpers.js';

const TOOLS = [
  'create_memory',
  'delete_memory',
  'delete_session',
  'list_memories',
  'query_context',
  'search_history',
  'search_memories',
  'write_turns',
];

const texts = (r: unknown) => (r as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : ''));
const jsonOf = (r: unknown) => JSON.parse(texts(r)[0]!);

describe('MCP over Streamable HTTP', () => {
  let h: Harness;
  let web: Awaited<ReturnType<typeof listen>>;
  const clients: Client[] = [];

  async function connect(key: string | undefined): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(new URL(`${web.url}/mcp`), {
      requestInit: key ? { headers: { Authorization: `Bearer ${key}` } } : {},
    });
    const client = new Client({ name: 'context-engine-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    h = await harness(() => openPglite());
    web = await listen(h.app.fetch);
  });
  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await web.close();
    await h.close();
  });

  it('lists the tools with their input schemas', async () => {
    const client = await connect((await tenant(h)).key);
    expect(client.getServerVersion()?.name).toBe('context-engine');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    const write = tools.find((t) => t.name === 'write_turns')!;
    expect(write.inputSchema.required).toEqual(expect.arrayContaining(['turns', 'session_id']));
    const query = tools.find((t) => t.name === 'query_context')!;
    expect(Object.keys(query.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['session_id', 'budget_tokens', 'query']),
    );
  });

  it('writes turns, queries context and searches history for the key’s tenant', async () => {
    const t = await tenant(h);
    const client = await connect(t.key);
    const written = await client.callTool({
      name: 'write_turns',
      arguments: { session_id: 'trip', turns: turns3, idempotency_key: 'k1' },
    });
    expect(written.isError).toBeFalsy();
    expect(jsonOf(written)).toMatchObject({ session_id: 'trip', session_created: true, replayed: false });
    const replay = await client.callTool({
      name: 'write_turns',
      arguments: { session_id: 'trip', turns: turns3, idempotency_key: 'k1' },
    });
    expect(jsonOf(replay).replayed).toBe(true);

    const context = await client.callTool({
      name: 'query_context',
      arguments: { session_id: 'trip', query: 'Where does Ada want to stay?', budget_tokens: 400 },
    });
    expect(context.isError).toBeFalsy();
    const [rendered, report] = texts(context);
    expect(rendered).toContain('Apartments near Alfama, budget 120 euros per night.');
    expect(JSON.parse(report!).budget_report.sections).toHaveLength(8);
    expect(h.deps.tokenizer.count(rendered!)).toBeLessThanOrEqual(400);

    const found = await client.callTool({ name: 'search_history', arguments: { session_id: 'trip', query: 'budget' } });
    expect(jsonOf(found).results[0].content).toContain('120 euros');

    // What the MCP tools wrote is the tenant's data, visible through the HTTP API with the same key.
    expect((await t.call('GET', '/v1/sessions/trip')).json.turn_count).toBe(3);
  });

  it('creates, lists, searches and deletes memories, and deletes a session', async () => {
    const client = await connect((await tenant(h)).key);
    await client.callTool({ name: 'write_turns', arguments: { session_id: 's-mem', turns: turns3 } });
    const created = jsonOf(
      await client.callTool({
        name: 'create_memory',
        arguments: { scope: 'user', user_id: 'u-ada', kind: 'preference', content: 'Prefers apartments near Alfama.' },
      }),
    );
    expect(created).toMatchObject({ scope: 'user', kind: 'preference', importance: 0.5 });
    expect(
      jsonOf(await client.callTool({ name: 'list_memories', arguments: { user_id: 'u-ada' } })).memories,
    ).toHaveLength(1);
    const found = jsonOf(await client.callTool({ name: 'search_memories', arguments: { query: 'apartments Alfama' } }));
    expect(found.memories[0].id).toBe(created.id);
    await client.callTool({ name: 'delete_memory', arguments: { memory_id: created.id } });
    expect(jsonOf(await client.callTool({ name: 'list_memories', arguments: {} })).memories).toEqual([]);

    expect((await client.callTool({ name: 'delete_session', arguments: { session_id: 's-mem' } })).isError).toBeFalsy();
    const gone = await client.callTool({
      name: 'query_context',
      arguments: { session_id: 's-mem', budget_tokens: 100 },
    });
    expect(gone.isError).toBe(true);
    expect(texts(gone)[0]).toMatch(/^NOT_FOUND: session "s-mem" not found/);
  });

  it('lists learned memories with their provenance, the superseded ones on request', async () => {
    const client = await connect((await tenant(h)).key);
    const says = (session: string, content: string) =>
      client.callTool({
        name: 'write_turns',
        arguments: { session_id: session, user_id: 'u-mia', turns: [{ role: 'user', content }] },
      });
    await says('l1', 'We live in Lisbon.');
    await h.deps.queue.drain();
    await says('l2', 'We moved to Porto.');
    await h.deps.queue.drain();
    const current = jsonOf(await client.callTool({ name: 'list_memories', arguments: { user_id: 'u-mia' } })).memories;
    expect(current.map((m: any) => [m.content, m.origin, m.session_id, m.source_sequences])).toEqual([
      ['We moved to Porto.', 'learned', 'l2', [1]],
    ]);
    const args = { user_id: 'u-mia', include_superseded: true };
    const all = jsonOf(await client.callTool({ name: 'list_memories', arguments: args })).memories;
    const lisbon = all.find((m: any) => m.session_id === 'l1');
    expect(lisbon).toMatchObject({ superseded_by: current[0].id, ended_in_session: 'l2' });
  });

  it('rejects invalid arguments and tools the key’s scopes do not allow', async () => {
    const client = await connect((await tenant(h)).key);
    const invalid = await client.callTool({ name: 'query_context', arguments: { session_id: 'x', budget_tokens: -1 } });
    expect(invalid.isError).toBe(true);
    expect(texts(invalid)[0]).toContain('budget_tokens');

    const reader = await connect((await tenant(h, ['read'])).key);
    const denied = await reader.callTool({ name: 'write_turns', arguments: { session_id: 'x', turns: turns3 } });
    expect(denied.isError).toBe(true);
    expect(texts(denied)[0]).toBe('FORBIDDEN: this key lacks the "write" scope');
  });

  it('needs the bearer key, and is stateless', async () => {
    await expect(connect(undefined)).rejects.toThrow();
    await expect(connect('ctx_wrong_key')).rejects.toThrow();
    const noKey = await fetch(`${web.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(noKey.status).toBe(401);
    expect((await noKey.json()).error.code).toBe('UNAUTHORIZED');

    const key = (await tenant(h)).key;
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${web.url}/mcp`, {
        method,
        headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
      });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    }
  });
});
