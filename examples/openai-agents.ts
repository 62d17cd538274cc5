// An OpenAI Agents SDK agent whose session lives in the engine: each run reads the history from it and stores what
// was said. `npx tsx examples/openai-agents.ts "<question>"` (CONTEXT_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Agent, OpenAIChatCompletionsModel, run } from '@openai/agents';
import OpenAI from 'openai';
import { ContextEngineSession } from '../src/client/adapters/openai-agents.js';
import { ContextClient } from '../src/client/index.js';

export async function ask(engine: ContextClient, sessionId: string, question: string): Promise<string> {
  const agent = new Agent({
    name: 'Travel agent',
    instructions: 'You are a travel agent.',
    // Chat Completions work with any OpenAI-compatible server; the default is the Responses API.
    model: new OpenAIChatCompletionsModel(new OpenAI(), process.env.OPENAI_MODEL ?? 'gpt-4o-mini'),
  });
  // budgetTokens: the engine's context for the next call stands in for the whole history.
  const session = new ContextEngineSession({ client: engine, sessionId, budgetTokens: 2000 });
  const result = await run(agent, question, { session });
  return String(result.finalOutput ?? '');
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const engine = new ContextClient({
    baseUrl: process.env.CONTEXT_URL ?? 'http://127.0.0.1:8787',
    apiKey: process.env.CONTEXT_API_KEY ?? '',
  });
  console.log(await ask(engine, process.env.SESSION_ID ?? 'agents-example', process.argv[2] ?? 'Hello!'));
}
