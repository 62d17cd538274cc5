// Summaries through the openai SDK against a local OpenAI-compatible server (real HTTP, no network).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { harness, tenant, type Harness } from '../helpers.js';
import { completionJson, startModelServer, type ModelRequest, type ModelServer } from '../model-server.js';

describe('LLM summarisation through an OpenAI-compatible API', () => {
  let server: ModelServer;
  let h: Harness;
  const requests: ModelRequest[] = [];
  let fail = false;

  beforeAll(async () => {
    server = await startModelServer((req) => {
      if (req.path !== '/v1/chat/completions') return { status: 404, json: { error: { message: 'not served' } } };
      requests.push(req);
      if (fail) return { status: 500, json: { error: { message: 'boom' } } };
      const user = req.body.messages.find((m: any) => m.role === 'user').content as string;
      return {
        json: completionJson(req.body.model, `LLM SUMMARY (${user.split('\n').length} lines): invoices discussed.`),
      };
    });
    h = await harness(() => openPglite(), {
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: server.url,
      CONTEXT_LLM_MODEL: 'local-model',
      CONTEXT_EMBEDDING_MODEL: 'none',
    });
  });
  afterAll(async () => {
    await h.close();
    await server.close();
  });

  const many = Array.from({ length: 12 }, (_, i) => ({
    role: i % 2 ? 'assistant' : 'user',
    content: `Invoice ${i} for Acme is ${100 * i} euros and due on day ${i}.`,
  }));

  it('uses the model for summaries and records it in the audit', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/l1/turns', { turns: many });
    await c.call('POST', '/v1/sessions/l1/rebuild', { max_tokens: 200 });
    await h.deps.queue.drain();
    const audit = (await c.call('GET', '/v1/sessions/l1/compactions')).json.compactions;
    expect(audit[0].strategy).toBe('summarize:llm');
    expect(audit[0].model).toBe('local-model');
    expect(audit[0].output).toMatch(/^LLM SUMMARY/);
    const req = requests.at(-1)!;
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.authorization).toBe('Bearer sk-test');
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
