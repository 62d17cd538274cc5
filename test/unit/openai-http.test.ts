import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postOpenAi } from '../../src/adapters/openai-http.js';

describe('OpenAI-compatible POST', () => {
  let server: Server;
  let url: string;
  const answers: number[] = [];
  const seen: { path: string; auth: string | undefined; body: unknown }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ path: req.url!, auth: req.headers.authorization, body: JSON.parse(body) });
        const status = answers.shift() ?? 200;
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(status === 200 ? { ok: true } : { error: 'no' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
  });
  afterAll(() => server.close());

  it('posts JSON with the key and retries a 503 once', async () => {
    seen.length = 0;
    answers.push(503);
    const out = await postOpenAi<{ ok: boolean }>({ apiKey: 'sk-x', baseURL: url, timeoutMs: 2000, maxRetries: 1 }, '/embeddings', { a: 1 });
    expect(out).toEqual({ ok: true });
    expect(seen).toHaveLength(2);
    expect(seen[0]).toEqual({ path: '/v1/embeddings', auth: 'Bearer sk-x', body: { a: 1 } });
  });

  it('does not retry a 400, and gives up after maxRetries', async () => {
    seen.length = 0;
    answers.push(400);
    await expect(postOpenAi({ apiKey: 'k', baseURL: url, timeoutMs: 2000, maxRetries: 1 }, '/chat/completions', {})).rejects.toThrow(/400/);
    expect(seen).toHaveLength(1);
    seen.length = 0;
    answers.push(500, 500);
    await expect(postOpenAi({ apiKey: 'k', baseURL: url, timeoutMs: 2000, maxRetries: 1 }, '/chat/completions', {})).rejects.toThrow(/500/);
    expect(seen).toHaveLength(2);
  });
});
