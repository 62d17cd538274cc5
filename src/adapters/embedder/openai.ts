// Embeddings through any OpenAI-compatible API (OpenAI, Azure, vLLM, Ollama). Used on the query path, so it has a
// short timeout and no retries: a slow or failing call costs the semantic signal, never the answer.
import type OpenAI from 'openai';
import { unit, type Embedder } from '../../embedder.js';

export function openAiEmbedder(opts: { apiKey: string; baseURL?: string; model: string; timeoutMs: number }): Embedder {
  // The SDK loads on the first call: a deployment without a key, or one that never calls, never evaluates it.
  let client: Promise<OpenAI> | undefined;
  const openai = () =>
    (client ??= import('openai').then(
      ({ default: OpenAI }) =>
        new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, timeout: opts.timeoutMs, maxRetries: 0 }),
    ));
  return {
    model: opts.model,
    semantic: true,
    stored: true,
    async embed(texts) {
      if (texts.length === 0) return [];
      const res = await (await openai()).embeddings.create({
        model: opts.model,
        input: texts,
        encoding_format: 'float',
      });
      const out = res.data
        .slice()
        .sort((a, b) => a.index - b.index)
        .map((d) => unit(Float32Array.from(d.embedding)));
      if (out.length !== texts.length) throw new Error(`expected ${texts.length} embeddings, got ${out.length}`);
      return out;
    },
  };
}
