// Vercel AI SDK language-model middleware: the engine's context goes in before each call, the exchange is written to
// the session after it. `wrapLanguageModel({ model, middleware: contextEngineMiddleware({ client, sessionId }) })`.
import type { LanguageModelMiddleware } from 'ai';
import type { ContextClient, QueryContextRequest } from '../index.js';

type CallOptions = Parameters<NonNullable<LanguageModelMiddleware['transformParams']>>[0]['params'];
type Message = CallOptions['prompt'][number];
type StreamResult = Awaited<ReturnType<Parameters<NonNullable<LanguageModelMiddleware['wrapStream']>>[0]['doStream']>>;
type StreamPart = StreamResult['stream'] extends ReadableStream<infer Part> ? Part : never;

export interface ContextEngineMiddlewareOptions {
  client: ContextClient;
  sessionId: string;
  /** Tokens the context may use; default 2000. */
  budgetTokens?: number;
  /** Set on the session's first write: memories and earlier sessions are recalled per user and agent. */
  userId?: string;
  agentId?: string;
  /** Further QueryContext options (template, reserve_tokens, history_scope, …). */
  context?: Omit<QueryContextRequest, 'query' | 'budget_tokens'>;
}

const textOf = (message: Message): string =>
  typeof message.content === 'string'
    ? message.content
    : message.content
        .flatMap((part) => (part.type === 'text' ? [part.text] : []))
        .join('\n')
        .trim();

/**
 * Before the call: the caller's system messages, then the engine's context for the latest user message, then that
 * message and what follows it (tool results of a multi-step call). After it: the user's message (on the step that
 * answered it first) and the model's text are written as turns.
 */
export function contextEngineMiddleware(options: ContextEngineMiddlewareOptions): LanguageModelMiddleware {
  const { client, sessionId } = options;
  const owner = {
    ...(options.userId ? { user_id: options.userId } : {}),
    ...(options.agentId ? { agent_id: options.agentId } : {}),
  };

  async function record(params: CallOptions, answer: string) {
    const last = params.prompt.at(-1);
    const question = last?.role === 'user' ? textOf(last) : '';
    const turns = [
      ...(question ? [{ role: 'user' as const, content: question }] : []),
      ...(answer.trim() ? [{ role: 'assistant' as const, content: answer }] : []),
    ];
    if (turns.length) await client.writeTurns(sessionId, { ...owner, turns });
  }

  return {
    async transformParams({ params }) {
      const at = params.prompt.findLastIndex((m) => m.role === 'user');
      const query = at >= 0 ? textOf(params.prompt[at]!) : undefined;
      const ctx = await client
        .queryContext(sessionId, {
          ...options.context,
          ...(query ? { query } : {}),
          budget_tokens: options.budgetTokens ?? 2000,
        })
        .catch((err: { code?: string }) => {
          // A session is created by its first write: before it there is no context to add.
          if (err.code === 'NOT_FOUND') return undefined;
          throw err;
        });
      const context: Message[] = (ctx?.rendered.messages ?? []).map((m) =>
        m.role === 'system'
          ? { role: 'system', content: m.content }
          : { role: 'user', content: [{ type: 'text', text: m.content }] },
      );
      const rest = params.prompt.slice(at >= 0 ? at : params.prompt.length).filter((m) => m.role !== 'system');
      return { ...params, prompt: [...params.prompt.filter((m) => m.role === 'system'), ...context, ...rest] };
    },

    async wrapGenerate({ doGenerate, params }) {
      const result = await doGenerate();
      await record(params, result.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join(''));
      return result;
    },

    async wrapStream({ doStream, params }) {
      const { stream, ...rest } = await doStream();
      let answer = '';
      const tap = new TransformStream<StreamPart, StreamPart>({
        transform(part, controller) {
          if (part.type === 'text-delta') answer += part.delta;
          controller.enqueue(part);
        },
        flush: () => record(params, answer),
      });
      return { ...rest, stream: stream.pipeThrough(tap) };
    },
  };
}
