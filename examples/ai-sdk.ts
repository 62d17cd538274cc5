// The Vercel AI SDK with the engine as memory: the middleware adds the session's context before each call and stores
// the exchange after it. `npx tsx examples/ai-sdk.ts "<question>"` (CONTEXT_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, wrapLanguageModel } from 'ai';
import { contextEngineMiddleware } from '../src/client/adapters/ai-sdk.js';
import { ContextClient } from '../src/client/index.js';

export async function ask(engine: ContextClient, sessionId: string, question: string): Promise<string> {
  const provider = createOpenAICompatible({
    name: 'openai-compatible',
    baseURL: process.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1',
    apiKey: process.env.OPENAI_API_KEY,
  });
  const model = wrapLanguageModel({
    model: provider.chatModel(process.env.OPENAI_MODEL ?? 'gpt-4o-mini'),
    middleware: contextEngineMiddleware({ client: engine, sessionId, budgetTokens: 2000 }),
  });
  const { text } = await generateText({ model, system: 'You are a travel agent.', prompt: question });
  return text;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const engine = new ContextClient({
    baseUrl: process.env.CONTEXT_URL ?? 'http://127.0.0.1:8787',
    apiKey: process.env.CONTEXT_API_KEY ?? '',
  });
  console.log(await ask(engine, process.env.SESSION_ID ?? 'ai-sdk-example', process.argv[2] ?? 'Hello!'));
}
