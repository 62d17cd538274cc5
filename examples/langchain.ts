// A LangChain.js chain with its message history in the engine (RunnableWithMessageHistory).
// `npx tsx examples/langchain.ts "<question>"` (CONTEXT_API_KEY, OPENAI_BASE_URL, OPENAI_MODEL).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ChatPromptTemplate, MessagesPlaceholder } from '@langchain/core/prompts';
import { RunnableWithMessageHistory } from '@langchain/core/runnables';
import { ChatOpenAI } from '@langchain/openai';
import { ContextEngineChatMessageHistory } from '../src/client/adapters/langchain.js';
import { ContextClient } from '../src/client/index.js';

export async function ask(engine: ContextClient, sessionId: string, question: string): Promise<string> {
  const prompt = ChatPromptTemplate.fromMessages([
    ['system', 'You are a travel agent.'],
    new MessagesPlaceholder('history'),
    ['human', '{input}'],
  ]);
  const chain = new RunnableWithMessageHistory({
    runnable: prompt.pipe(new ChatOpenAI({ model: process.env.OPENAI_MODEL ?? 'gpt-4o-mini' })),
    // budgetTokens: the history is the engine's context for the next call, not every stored message.
    getMessageHistory: (id: string) =>
      new ContextEngineChatMessageHistory({ client: engine, sessionId: id, budgetTokens: 2000 }),
    inputMessagesKey: 'input',
    historyMessagesKey: 'history',
  });
  const reply = await chain.invoke({ input: question }, { configurable: { sessionId } });
  return String(reply.content);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const engine = new ContextClient({
    baseUrl: process.env.CONTEXT_URL ?? 'http://127.0.0.1:8787',
    apiKey: process.env.CONTEXT_API_KEY ?? '',
  });
  console.log(await ask(engine, process.env.SESSION_ID ?? 'langchain-example', process.argv[2] ?? 'Hello!'));
}
