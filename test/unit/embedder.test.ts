// The local embedder, and the OpenAI-compatible one against a local server (real HTTP, no network).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAiEmbedder } from '../../src/adapters/embedder/openai.js';
import { dot, hashedNgramEmbedder } from '../../src/embedder.js';

describe('local hashed n-gram embedder', () => {
  const e = hashedNgramEmbedder();

  it('is deterministic, unit length and not semantic', async () => {
    const [a] = await e.embed(['Lisbon in May is lovely.']);
    const [b] = await hashedNgramEmbedder().embed(['Lisbon in May is lovely.']);
    expect([...a!]).toEqual([...b!]);
    expect(a!.length).toBe(256);
    expect(dot(a!, a!)).toBeCloseTo(1, 5);
    expect(e.semantic).toBe(false);
  });

  it('puts word forms close and unrelated text far', async () => {
    const [q, forms, other] = await e.embed(['painting sunsets', 'she painted a sunset', 'the invoice is overdue']);
    expect(dot(q!, forms!)).toBeGreaterThan(dot(q!, other!) + 0.2);
  });

  it('gives empty text a zero vector', async () => {
    const [z] = await e.embed(['  ... ']);
    expect(dot(z!, z!)).toBe(0);
  });
});

describe('OpenAI-compatible embedder', () => {
  let server: Server;
  let url = '';
  const seen: any[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const parsed = JSON.parse(body);
        seen.push({ path: req.url, body: parsed });
        const data = (parsed.input as string[]).map((t, index) => ({ object: 'embedding', index, embedding: [t.length, 1, 0] }));
        // Out of order on purpose: the adapter must restore input order.
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({ object: 'list', model: parsed.model, data: data.reverse(), usage: { prompt_tokens: 1, total_tokens: 1 } }),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => server.close());

  it('embeds in input order as unit vectors', async () => {
    const e = openAiEmbedder({ apiKey: 'sk-test', baseURL: url, model: 'local-embed', timeoutMs: 2000 });
    const out = await e.embed(['ab', 'abcd']);
    expect(e.semantic).toBe(true);
    expect(seen[0].path).toBe('/v1/embeddings');
    expect(seen[0].body.model).toBe('local-embed');
    expect(out[0]![0]).toBeCloseTo(2 / Math.sqrt(5));
    expect(out[1]![0]).toBeCloseTo(4 / Math.sqrt(17));
    expect(await e.embed([])).toEqual([]);
  });
});
