// A local stand-in for an OpenAI-compatible API (real HTTP on loopback, no network): each POST's JSON body goes to
// `answer`, whose status and JSON are sent back (a chat completion as server-sent chunks when the request streams).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ModelRequest {
  path: string;
  authorization: string | undefined;
  body: any;
}

export interface ModelServer {
  /** Base URL for the `openai` SDK (`…/v1`). */
  url: string;
  close(): Promise<void>;
}

export async function startModelServer(
  answer: (req: ModelRequest) => { status?: number; json: unknown },
): Promise<ModelServer> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const { status = 200, json } = answer({
        path: req.url ?? '/',
        authorization: req.headers.authorization,
        body: JSON.parse(body),
      });
      const request = JSON.parse(body);
      if (request.stream && status === 200) {
        res.writeHead(200, { 'content-type': 'text/event-stream' }).end(completionStream(json));
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** An embeddings response for `vectors`, in input order unless given otherwise. */
export const embeddingsJson = (model: string, vectors: readonly (readonly number[])[]) => ({
  object: 'list',
  model,
  data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
  usage: { prompt_tokens: 1, total_tokens: 1 },
});

/** A chat completion answering `content`. */
export const completionJson = (model: string, content: string, id = 'cmpl-1') => ({
  id,
  object: 'chat.completion',
  created: 0,
  model,
  choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content } }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

/** A chat completion as the chunks of a streamed answer: the content in two deltas, the finish, then [DONE]. */
function completionStream(json: any): string {
  const message = json.choices?.[0]?.message ?? {};
  const content: string = message.content ?? '';
  const half = Math.ceil(content.length / 2);
  const chunk = (delta: object, finish: string | null) => ({
    id: json.id,
    object: 'chat.completion.chunk',
    created: json.created,
    model: json.model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const chunks = [
    chunk({ role: 'assistant', content: content.slice(0, half) }, null),
    chunk({ content: content.slice(half) }, null),
    chunk({}, json.choices?.[0]?.finish_reason ?? 'stop'),
  ];
  return `${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`;
}
