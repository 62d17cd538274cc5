// The local embedder, and the OpenAI-compatible one against a local server (real HTTP, no network).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAiEmbedder } from '../../src/adapters/embedder/openai.js';
import { dot, hashedNgramEmbedder } from '../../src/embedder.js';
import { embeddingsJson, startModelServer, type ModelServer } from '../model-server.js';

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

  it('counts the same signed n-gram hashes as the plain string form, in any number of dimensions', async () => {
    // The definition written out with strings and unsigned hashes; the embedder reuses buffers and int32 hashes.
    const reference = (text: string, dims: number) => {
      const v = new Float32Array(dims);
      for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
        const w = `<${word}>`;
        for (let i = 0; i + 3 <= w.length; i++) {
          let h = 0x811c9dc5;
          for (let j = i; j < i + 5 && j < w.length; j++) {
            h = Math.imul(h ^ w.charCodeAt(j), 0x01000193) >>> 0;
            if (j - i >= 2) v[h % dims]! += h & 0x80000000 ? -1 : 1;
          }
        }
      }
      let norm = 0;
      for (const x of v) norm += x * x;
      if (norm > 0) for (let i = 0; i < dims; i++) v[i]! *= 1 / Math.sqrt(norm);
      return [...v];
    };
    const texts = [
      'Lisbon in May is lovely.',
      `a ${'very'.repeat(40)}long word`,
      'Ünïcödé façade, 😀 emoji, 𝒳 outside the BMP, 日本語のテキスト',
      "it's O'Neil's 3rd place",
      'ab',
    ];
    for (const dims of [256, 100, 7]) {
      const got = await hashedNgramEmbedder(dims).embed(texts);
      got.forEach((v, i) => expect([...v]).toEqual(reference(texts[i]!, dims)));
    }
  });

  it('gives empty text a zero vector', async () => {
    const [z] = await e.embed(['  ... ']);
    expect(dot(z!, z!)).toBe(0);
  });
});

describe('OpenAI-compatible embedder', () => {
  let server: ModelServer;
  let url = '';
  const seen: any[] = [];
  beforeAll(async () => {
    server = await startModelServer((req) => {
      seen.push(req);
      const vectors = (req.body.input as string[]).map((t) => [t.length, 1, 0]);
      const json = embeddingsJson(req.body.model, vectors);
      // Out of order on purpose: the adapter must restore input order.
      return { json: { ...json, data: json.data.reverse() } };
    });
    url = server.url;
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
