// npm run embeddings:local [-- --port 8089]: an OpenAI-compatible POST /v1/embeddings answering with the bundled word
// vectors' sentence vectors (ADR 0006), so the embedding-API path (ADR 0012) runs end to end with no key or network.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseWordVectors, wordVectorEmbedder } from '../../src/adapters/embedder/word-vectors.js';

const Body = z.object({
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  model: z.string().min(1),
  encoding_format: z.enum(['float']).optional(),
});

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { port: { type: 'string', default: '8089' }, host: { type: 'string', default: '127.0.0.1' } },
});
const embedder = wordVectorEmbedder(
  parseWordVectors(readFileSync(new URL('../../assets/word-vectors.bin', import.meta.url))),
);

const reply = (res: import('node:http').ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/v1/embeddings')
    return reply(res, 404, { error: { message: 'only POST /v1/embeddings is served', type: 'invalid_request_error' } });
  let raw = '';
  req.setEncoding('utf8');
  req.on('data', (d: string) => (raw += d));
  req.on('end', async () => {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return reply(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error' } });
    }
    const body = Body.safeParse(json);
    if (!body.success)
      return reply(res, 400, { error: { message: z.prettifyError(body.error), type: 'invalid_request_error' } });
    const inputs = typeof body.data.input === 'string' ? [body.data.input] : body.data.input;
    const vectors = await embedder.embed(inputs);
    reply(res, 200, {
      object: 'list',
      model: body.data.model,
      data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: Array.from(v) })),
      usage: { prompt_tokens: 0, total_tokens: 0 },
    });
  });
});

server.listen(Number(values.port), values.host, () => {
  const addr = server.address() as import('node:net').AddressInfo;
  process.stdout.write(`embeddings (${embedder.model}) at http://${addr.address}:${addr.port}/v1\n`);
});
