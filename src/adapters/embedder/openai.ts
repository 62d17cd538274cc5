// Embeddings through any OpenAI-compatible API (OpenAI, Azure, vLLM, Ollama). Used on the query path, so it has a
// short timeout and no retries: a slow or failing call costs the semantic signal, never the answer.
import { postOpenAi } from '../openai-http.js';
import type { Embedder } from '../../embedder.js';

export function openAiEmbedder(opts: { apiKey: string; baseURL?: string; model: string; timeoutMs: number }): Embedder {
  const http = { apiKey: opts.apiKey, baseURL: opts.baseURL, timeoutMs: opts.timeoutMs, maxRetries: 0 };
  return {
    model: opts.model,
    semantic: true,
    async embed(texts) {
      if (texts.length === 0) return [];
      const res = await postOpenAi<{ data: { index: number; embedding: number[] }[] }>(http, '/embeddings', { model: opts.model, input: texts, encoding_format: 'float' });
      const out = res.data
        .slice()
        .sort((a, b) => a.index - b.index)
        .map((d) => unit(Float32Array.from(d.embedding)));
      if (out.length !== texts.length) throw new Error(`expected ${texts.length} embeddings, got ${out.length}`);
      return out;
    },
  };
}

function unit(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  if (norm > 0) {
    const inv = 1 / Math.sqrt(norm);
    for (let i = 0; i < v.length; i++) v[i]! *= inv;
  }
  return v;
}
