// Summaries through the openai SDK against a local OpenAI-compatible server (real HTTP, no network).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { harness, tenant, type Harness } from '../helpers.js';

describe('LLM summarisation through an OpenAI-compatible API', () => {
  let server: Server;
  let h: Harness;
  const requests: any[] = [];
  let fail = false;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const parsed = JSON.parse(body);
        if (req.url !== '/v1/chat/completions') {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not served"}}');
          return;
        }
        requests.push({ path: req.url, auth: req.headers.authorization, body: parsed });
        if (fail) {
          res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"boom"}}');
          return;
        }
        const user = parsed.messages.find((m: any) => m.role === 'user').content as string;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          id: 'cmpl-1', object: 'chat.completion', created: 0, model: parsed.model,
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: `LLM SUMMARY (${user.split('\n').length} lines): invoices discussed.` } }],
          usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
        }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    h = await harness(() => openPglite(), { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`, CONTEXT_LLM_MODEL: 'local-model', CONTEXT_EMBEDDING_MODEL: 'none' });
  });
  afterAll(async () => {
    await h.close();
    server.close();
  });

  const many = Array.from({ length: 12 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `Invoice ${i} for Acme is ${100 * i} euros and due on day ${i}.` }));

  it('uses the model for summaries and records it in the audit', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/l1/turns', { turns: many });
    await c.call('POST', '/v1/sessions/l1/rebuild', { max_tokens: 200 });
    await h.deps.queue.drain();
    const audit = (await c.call('GET', '/v1/sessions/l1/compactions')).json.compactions;
    expect(audit[0].strategy).toBe('summarize:llm');
    expect(audit[0].model).toBe('local-model');
    expect(audit[0].output).toMatch(/^LLM SUMMARY/);
    const req = requests.at(-1);
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.auth).toBe('Bearer sk-test');
    expect(req.body.model).toBe('local-model');
    expect(req.body.messages[1].content).toContain('Invoice 0 for Acme');
  });

  it('with CONTEXT_EMBEDDING_MODEL=none the key serves summaries only: no embedding jobs, the local embedder ranks', () => {
    expect(h.deps.embedder?.stored).toBeFalsy();
    expect(h.deps.embedder?.model).toBe('glove-sif-100d');
  });

  it('falls back to the extractive summary when the model fails', async () => {
    fail = true;
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/l2/turns', { turns: many });
    await c.call('POST', '/v1/sessions/l2/rebuild', { max_tokens: 200 });
    await h.deps.queue.drain();
    const audit = (await c.call('GET', '/v1/sessions/l2/compactions')).json.compactions;
    expect(audit[0].strategy).toBe('summarize:extractive');
    expect(audit[0].output).toContain('Invoice');
    fail = false;
  });
});
