// A chat agent whose memory is the context engine: each turn is written through the typed client, and before each
// model call the engine returns the context that fits the budget. Usage and settings: docs/api.md#examples.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import { ContextClient } from '../src/client/index.js';

export interface AgentOptions {
  context: ContextClient;
  openai: OpenAI;
  model: string;
  sessionId: string;
  budgetTokens?: number;
  answerTokens?: number;
  userId?: string;
  agentId?: string;
}

export interface AgentReply {
  reply: string;
  /** Tokens of engine context sent with this call. */
  contextTokens: number;
}

/** One exchange in two engine calls: store the user's turn and get its context, call the model, store the answer. */
export async function agentTurn(opts: AgentOptions, userInput: string): Promise<AgentReply> {
  const budget = opts.budgetTokens ?? 3000;
  const answerTokens = Math.min(opts.answerTokens ?? 800, budget - 1);
  const written = await opts.context.writeTurns(opts.sessionId, {
    turns: [{ role: 'user', content: userInput }],
    ...(opts.userId ? { user_id: opts.userId } : {}),
    ...(opts.agentId ? { agent_id: opts.agentId } : {}),
    return_context: { query: userInput, budget_tokens: budget, reserve_tokens: answerTokens },
  });
  const ctx = written.context;
  if (!ctx) throw new Error(`no context for the turn: ${written.context_error?.message ?? 'none returned'}`);

  // The context fences history as quoted data; the newest message is repeated last, unfenced, as the one to answer.
  const completion = await opts.openai.chat.completions.create({
    model: opts.model,
    messages: [...ctx.rendered.messages, { role: 'user', content: userInput }],
    max_tokens: answerTokens,
  });
  const reply = completion.choices[0]?.message?.content ?? '';

  await opts.context.writeTurns(opts.sessionId, { turns: [{ role: 'assistant', content: reply || '(no answer)' }] });
  return { reply, contextTokens: ctx.token_count };
}

function localKey(): string | undefined {
  const file = path.join(process.env.DATA_DIR ?? '.data', 'api-key');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

async function main() {
  const apiKey = process.env.CONTEXT_API_KEY ?? localKey();
  if (!apiKey) throw new Error('no engine key: set CONTEXT_API_KEY, or run `npm start` once to create .data/api-key');
  const opts: AgentOptions = {
    context: new ContextClient({ baseUrl: process.env.CONTEXT_URL ?? 'http://127.0.0.1:8787', apiKey }),
    // The SDK reads OPENAI_API_KEY and OPENAI_BASE_URL from the environment itself.
    openai: new OpenAI(),
    model: process.env.OPENAI_MODEL ?? 'gpt-4o-mini',
    sessionId: process.env.SESSION_ID ?? `agent-${new Date().toISOString().slice(0, 19).replace(/[T:]/g, '-')}`,
    budgetTokens: Number(process.env.CONTEXT_BUDGET ?? 3000),
    answerTokens: Number(process.env.ANSWER_TOKENS ?? 800),
  };
  console.error(`session ${opts.sessionId}; an empty line ends`);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
  try {
    for (;;) {
      let line: string;
      try {
        line = (await rl.question('you> ')).trim();
      } catch {
        break; // stdin closed
      }
      if (!line) break;
      const { reply, contextTokens } = await agentTurn(opts, line);
      console.log(reply);
      console.error(`  (${contextTokens} context tokens)`);
    }
  } finally {
    rl.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(`agent failed: ${(err as Error).message}`);
    process.exit(1);
  });
}
