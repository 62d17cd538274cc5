// Answers given before the body was read (413 from the declared length, an early 401) on the Node server: the
// connection stays usable, or is closed on purpose with `Connection: close` when the body is too long or too slow.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { limits } from '../../src/config/tuning.js';
import { serveApp, type DrainBound } from '../../src/runtime/node/serve.js';
import { harness, snapshot, tenant, type Client, type Harness } from '../helpers.js';

interface Served {
  url: string;
  port: number;
  /** Connections the server has accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

function start(h: Harness, drain?: DrainBound): Promise<Served> {
  return new Promise((resolve) => {
    let accepted = 0;
    const server = serveApp(h.app, { port: 0, hostname: '127.0.0.1', drain }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        port: info.port,
        connections: () => accepted,
        close: () =>
          new Promise<void>((done) => {
            (server as http.Server).closeAllConnections();
            server.close(() => done());
          }),
      });
    });
    server.on('connection', () => accepted++);
  });
}

interface Answer {
  status: number;
  connection: string | undefined;
  json: any;
}

/** One request through a Node http.Agent; a reset connection rejects. */
function send(agent: http.Agent, url: string, method: string, path: string, key: string, body?: Buffer) {
  return new Promise<Answer>((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${key}` };
    if (body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': body.length });
    const req = http.request(`${url}${path}`, { agent, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const json = text ? JSON.parse(text) : undefined;
        resolve({ status: res.statusCode!, connection: res.headers.connection, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Writes raw bytes on a fresh connection and reads until the server closes it (or `waitMs` passes). */
function raw(port: number, bytes: Buffer, waitMs = 3_000) {
  return new Promise<{ text: string; closedByServer: boolean; ms: number }>((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedByServer, ms: performance.now() - started });
    };
    const timer = setTimeout(() => done(false), waitMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => done(true));
    socket.on('error', () => done(true));
    socket.write(bytes);
  });
}

const header = (text: string, name: string) => text.match(new RegExp(`^${name}: *(.*?)\\r$`, 'im'))?.[1];
const statusOf = (text: string) => Number(text.match(/^HTTP\/1\.1 (\d{3})/)?.[1]);

const oversized = Buffer.alloc(limits.bodyBytes + 1024 * 1024, 'a');
const turnBody = Buffer.from(JSON.stringify({ turns: [{ role: 'user', content: 'Hello after the refusal.' }] }));
const BAD_KEY = 'ctx_not_a_key_of_anyone';

describe('answers before the body is read (Node server)', () => {
  let h: Harness;
  let t: Client;
  let web: Served;

  beforeAll(async () => {
    h = await harness(() => openPglite());
    t = await tenant(h);
    web = await start(h);
  });
  afterAll(async () => {
    await web.close();
    await h.close();
  });

  it('413 over a kept-alive connection: the next request on the same connection is answered', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const before = web.connections();
    try {
      const refused = await send(agent, web.url, 'POST', '/v1/sessions/ka-413/turns', t.key, oversized);
      expect(refused.status).toBe(413);
      expect(refused.json.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(refused.connection).toBe('keep-alive');
      const next = await send(agent, web.url, 'POST', '/v1/sessions/ka-413/turns', t.key, turnBody);
      expect(next.status).toBe(201);
      const read = await send(agent, web.url, 'GET', '/v1/sessions/ka-413', t.key);
      expect(read.status).toBe(200);
      expect(read.json.turn_count).toBe(1);
      // All three went over one connection.
      expect(web.connections() - before).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('401 with a 400 KB body over a kept-alive connection: the next request is answered', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const before = web.connections();
    const body = Buffer.from(JSON.stringify({ turns: [{ role: 'user', content: 'x'.repeat(400 * 1024) }] }));
    try {
      for (let i = 0; i < 3; i++) {
        const refused = await send(agent, web.url, 'POST', '/v1/sessions/ka-401/turns', BAD_KEY, body);
        expect(refused.status).toBe(401);
        expect(refused.json.error.code).toBe('UNAUTHORIZED');
        expect(refused.connection).toBe('keep-alive');
        const next = await send(agent, web.url, 'GET', '/v1/sessions/ka-401', t.key);
        expect(next.status).toBe(404);
      }
      expect(web.connections() - before).toBe(1);
      expect((await snapshot(h.deps, t.tenantId)).sessions).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('20 oversized fetch POSTs each get their 413, none a closed connection', async () => {
    const outcomes: (number | string)[] = [];
    for (let i = 0; i < 20; i++) {
      try {
        const res = await fetch(`${web.url}/v1/sessions/f-413/turns`, {
          method: 'POST',
          headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
          body: oversized,
        });
        await res.arrayBuffer();
        outcomes.push(res.status);
      } catch (err) {
        outcomes.push(String((err as Error & { cause?: Error }).cause?.message ?? err));
      }
    }
    expect(outcomes).toEqual(Array(20).fill(413));
  });

  it('20 fetch POSTs of 400 KB with a bad key each get their 401', async () => {
    const body = Buffer.alloc(400 * 1024, 'a');
    const outcomes: (number | string)[] = [];
    for (let i = 0; i < 20; i++) {
      try {
        const res = await fetch(`${web.url}/v1/sessions/f-401/turns`, {
          method: 'POST',
          headers: { authorization: `Bearer ${BAD_KEY}`, 'content-type': 'application/json' },
          body,
        });
        await res.arrayBuffer();
        outcomes.push(res.status);
      } catch (err) {
        outcomes.push(String((err as Error & { cause?: Error }).cause?.message ?? err));
      }
    }
    expect(outcomes).toEqual(Array(20).fill(401));
  });

  it('an oversized chunked body (no declared length) is refused and the connection stays usable', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const before = web.connections();
    try {
      const refused = await new Promise<Answer>((resolve, reject) => {
        const req = http.request(
          `${web.url}/v1/sessions/ka-chunked/turns`,
          {
            agent,
            method: 'POST',
            headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, json: null }));
          },
        );
        req.on('error', reject);
        const piece = 256 * 1024;
        for (let sent = 0; sent < oversized.length; sent += piece) req.write(oversized.subarray(sent, sent + piece));
        req.end();
      });
      expect(refused.status).toBe(413);
      expect(refused.connection).toBe('keep-alive');
      expect((await send(agent, web.url, 'POST', '/v1/sessions/ka-chunked/turns', t.key, turnBody)).status).toBe(201);
      expect(web.connections() - before).toBe(1);
    } finally {
      agent.destroy();
    }
  });
});

describe('answers before the body is read, past the drain bound', () => {
  let h: Harness;
  let web: Served;
  const bound: DrainBound = { bytes: 64 * 1024, ms: 1_000 };

  beforeAll(async () => {
    h = await harness(() => openPglite());
    web = await start(h, bound);
  });
  afterAll(async () => {
    await web.close();
    await h.close();
  });

  const head = (length: number) =>
    `POST /v1/sessions/s/turns HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${BAD_KEY}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;

  it('a declared length past the bound is answered at once with Connection: close, and the server closes', async () => {
    const r = await raw(web.port, Buffer.concat([Buffer.from(head(1024 ** 3)), Buffer.alloc(1024, 'a')]));
    expect(statusOf(r.text)).toBe(413);
    expect(header(r.text, 'connection')).toBe('close');
    expect(r.closedByServer).toBe(true);
    expect(r.ms).toBeLessThan(bound.ms);
  });

  it('a chunked body running past the bound: Connection: close, and the server closes', async () => {
    // /mcp refuses the key before reading the body (under /v1 the body limit reads a chunked body first).
    const chunked =
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${BAD_KEY}\r\n` +
      'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    const size = 16 * 1024;
    const chunk = Buffer.from(`${size.toString(16)}\r\n${'a'.repeat(size)}\r\n`);
    // Twice the bound in chunks, and no last chunk: only the byte bound can end the wait early.
    const r = await raw(web.port, Buffer.concat([Buffer.from(chunked), ...Array(8).fill(chunk)]));
    expect(statusOf(r.text)).toBe(401);
    expect(header(r.text, 'connection')).toBe('close');
    expect(r.closedByServer).toBe(true);
    expect(r.ms).toBeLessThan(bound.ms);
  });

  it('a body that stops arriving is waited for up to the bound, then answered with Connection: close', async () => {
    const r = await raw(web.port, Buffer.concat([Buffer.from(head(20_000)), Buffer.alloc(1_000, 'a')]));
    expect(statusOf(r.text)).toBe(401);
    expect(header(r.text, 'connection')).toBe('close');
    expect(r.closedByServer).toBe(true);
    expect(r.ms).toBeGreaterThanOrEqual(bound.ms - 20);
  });
});
