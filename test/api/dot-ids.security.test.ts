// Ids made only of dots (`.`, `..`) resolve away in URLs, so a session stored under one could not be read or deleted
// over REST. One `Id` rule refuses them, and any other run of dots, at every entry point; nothing is stored.
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { serveApp } from '../../src/runtime/node/serve.js';
import { harness, snapshot, tenant, turns3, type Client, type Harness } from '../helpers.js';

const DOTS = ['.', '..', '...'];
const turn = [{ role: 'user', content: 'Hello.' }];
const empty = (counts: Record<string, number>) => Object.values(counts).every((n) => n === 0);

describe('ids made only of dots', () => {
  let h: Harness;
  let server: ServerType;
  let port: number;
  const mcpClients: McpClient[] = [];

  beforeAll(async () => {
    h = await harness(() => openPglite());
    port = await new Promise<number>((resolve) => {
      server = serveApp(h.app, { port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => resolve(info.port));
    });
  });
  afterAll(async () => {
    for (const c of mcpClients) await c.close().catch(() => undefined);
    await new Promise((done) => server.close(done));
    await h.close();
  });

  /** Every call must answer 400 with the rule's message, and the tenant must still own nothing. */
  async function refusedAll(c: Client, calls: [string, string, unknown][]) {
    for (const [method, path, body] of calls) {
      const r = await c.call(method, path, body);
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(r.json.error.code).toBe('BAD_REQUEST');
      expect(r.json.error.message).toContain('not only dots');
    }
    expect(empty(await snapshot(h.deps, c.tenantId))).toBe(true);
  }

  it('are refused in REST paths (where a URL can carry them); dots inside an id are fine', async () => {
    const c = await tenant(h);
    const flow = { model_calls: [{ id: 'plan', model: 'm', budget_tokens: 100 }] };
    await refusedAll(c, [
      ['POST', '/v1/sessions/.../turns', { turns: turn }],
      ['GET', '/v1/sessions/...', undefined],
      ['DELETE', '/v1/sessions/...', undefined],
      ['POST', '/v1/sessions/.../context', { budget_tokens: 100 }],
      ['PUT', '/v1/sessions/s1/tool-chains/.../steps/call_1', { status: 'ok', result: 'done' }],
      ['PUT', '/v1/sessions/s1/tool-chains/ch/steps/...', { status: 'ok', result: 'done' }],
      ['PUT', '/v1/agents/.../task-flows/trip', flow],
      ['PUT', '/v1/agents/planner/task-flows/...', flow],
      ['GET', '/v1/agents/.../context', undefined],
    ]);
    // Only ids made of nothing but dots are refused: these are stored, read and deleted over REST.
    for (const id of ['.hidden', 'v1.2', 'a..b', 'trail.']) {
      expect((await c.call('POST', `/v1/sessions/${id}/turns`, { turns: turns3 })).status, id).toBe(201);
      expect((await c.call('GET', `/v1/sessions/${id}`)).json.turn_count, id).toBe(3);
      expect((await c.call('DELETE', `/v1/sessions/${id}`)).status, id).toBe(204);
    }
  });

  it('sent raw in a path: `.` and `..` resolve away (so REST could never reach them), `...` is refused', async () => {
    const c = await tenant(h);
    const body = JSON.stringify({ turns: turn });
    const expected = { '.': 404, '..': 404, '%2e': 404, '%2e%2e': 404, '.%2E': 404, '...': 400 };
    for (const [segment, status] of Object.entries(expected)) {
      const reply = await new Promise<string>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        let text = '';
        socket.on('data', (d: Buffer) => {
          text += d.toString('latin1');
          if (text.includes('\r\n\r\n')) socket.end();
        });
        socket.on('close', () => resolve(text));
        socket.write(
          `POST /v1/sessions/${segment}/turns HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${c.key}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      });
      expect(Number(reply.match(/^HTTP\/1\.1 (\d{3})/)?.[1]), segment).toBe(status);
    }
    expect(empty(await snapshot(h.deps, c.tenantId))).toBe(true);
  });

  it('are refused in REST bodies', async () => {
    const c = await tenant(h);
    const calls: [string, string, unknown][] = [];
    for (const d of DOTS) {
      calls.push(
        ['POST', '/v1/sessions/ok/turns', { turns: turn, agent_id: d }],
        ['POST', '/v1/sessions/ok/turns', { turns: turn, user_id: d }],
        ['POST', '/v1/sessions/ok/turns', { turns: turn, resume_from: d }],
        ['POST', '/v1/sessions/ok/tool-chains', { chain_id: d, steps: [{ step_id: 'call_1', tool_name: 't' }] }],
        ['POST', '/v1/sessions/ok/tool-chains', { steps: [{ step_id: d, tool_name: 't' }] }],
        ['POST', '/v1/agents', { agent_id: d }],
        ['POST', '/v1/memories', { scope: 'user', user_id: d, content: 'Likes tea.' }],
        ['POST', '/v1/memories', { scope: 'agent', agent_id: d, content: 'Knows trams.' }],
      );
    }
    await refusedAll(c, calls);
  });

  it('are refused in /v1/events payloads', async () => {
    const c = await tenant(h);
    const tool = { type: 'tool.executed', tool_name: 't', result: 'r' };
    const events: unknown[] = DOTS.flatMap((d) => [
      { type: 'conversation.new', session_id: d, turns: turn },
      { type: 'conversation.new', session_id: 'ok', agent_id: d, turns: turn },
      { type: 'conversation.new', session_id: 'ok', user_id: d, turns: turn },
      { ...tool, session_id: d, tool_call_id: 'c1' },
      { ...tool, session_id: 'ok', chain_id: d, tool_call_id: 'c1' },
      { ...tool, session_id: 'ok', tool_call_id: d },
      { type: 'memory.updated', action: 'upsert', memory: { scope: 'user', user_id: d, content: 'x' } },
    ]);
    // Each event fails on its dotted id alone, and the rule's message is among the issues reported.
    for (const body of events) {
      const r = await c.call('POST', '/v1/events', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(r.json.error), JSON.stringify(body)).toContain('not only dots');
    }
    expect(empty(await snapshot(h.deps, c.tenantId))).toBe(true);
  });

  it('are refused by the MCP tools over HTTP', async () => {
    const c = await tenant(h);
    const mcp = new McpClient({ name: 'dot-ids-test', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${c.key}` } },
      }),
    );
    mcpClients.push(mcp);
    for (const d of DOTS) {
      for (const [name, args] of [
        ['write_turns', { session_id: d, turns: turn }],
        ['write_turns', { session_id: 'ok', agent_id: d, turns: turn }],
        ['query_context', { session_id: d, budget_tokens: 100 }],
        ['delete_session', { session_id: d }],
        ['create_memory', { scope: 'user', user_id: d, content: 'Likes tea.' }],
      ] as const) {
        const r = (await mcp.callTool({ name, arguments: args })) as CallToolResult;
        expect(r.isError, `${name} ${JSON.stringify(args)}`).toBe(true);
        expect(r.content.map((x) => (x.type === 'text' ? x.text : '')).join(' ')).toContain('not only dots');
      }
    }
    expect(empty(await snapshot(h.deps, c.tenantId))).toBe(true);
  });
});
