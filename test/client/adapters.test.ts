// The framework adapters against the real libraries (Vercel AI SDK, OpenAI Agents SDK, LangChain.js), each calling a
// local OpenAI-compatible model stand-in, with the engine on PGlite behind the typed client.
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { ChatPromptTemplate, MessagesPlaceholder } from '@langchain/core/prompts';
import { RunnableWithMessageHistory } from '@langchain/core/runnables';
import { ChatOpenAI } from '@langchain/openai';
import { Agent, MCPServerStreamableHttp, OpenAIChatCompletionsModel, run, setTracingDisabled } from '@openai/agents';
import { generateText, streamText, wrapLanguageModel } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { contextEngineMiddleware } from '../../src/client/adapters/ai-sdk.js';
import { ContextEngineChatMessageHistory } from '../../src/client/adapters/langchain.js';
import { ContextEngineSession } from '../../src/client/adapters/openai-agents.js';
import type { ContextClient } from '../../src/client/index.js';
import { listen } from '../browser.js';
import { harness, tenant, type Harness } from '../helpers.js';
import { completionJson, startModelServer, type ModelServer } from '../model-server.js';

type ChatMessage = { role: string; content: string | { type: string; text?: string }[] | null };
const text = (m: ChatMessage) =>
  typeof m.content === 'string' ? m.content : (m.content ?? []).map((p) => p.text ?? '').join('\n');

// The model: "Where am I going?" is answered from whatever came before it; anything else is noted.
function answer(messages: ChatMessage[]): string {
  const question = text(messages.at(-1)!);
  const before = messages.slice(0, -1).map(text).join('\n');
  if (!question.startsWith('Where am I going')) return 'Noted.';
  return before.includes('Lisbon in May') ? 'You are going to Lisbon.' : 'I do not know.';
}

const PLAN = 'My name is Ada and I am planning a trip to Lisbon in May.';

describe('framework adapters', () => {
  let h: Harness;
  let client: ContextClient;
  let key: string;
  let model: ModelServer;
  let requests: { messages: ChatMessage[]; stream?: boolean }[];

  beforeAll(async () => {
    setTracingDisabled(true);
    h = await harness(() => openPglite());
    ({ client, key } = await tenant(h));
    model = await startModelServer(({ body }) => {
      requests.push(body);
      return { json: completionJson(body.model, answer(body.messages), `cmpl-${requests.length}`) };
    });
  });
  beforeEach(() => {
    requests = [];
  });
  afterAll(async () => {
    await model.close();
    await h.close();
  });

  const stored = async (sessionId: string) =>
    (await client.listTurns(sessionId)).turns.map((t) => [t.role, t.content] as const);

  describe('Vercel AI SDK middleware', () => {
    const provider = () => createOpenAICompatible({ name: 'stand-in', baseURL: model.url, apiKey: 'k' });

    it('adds the context before the call and writes the exchange after it', async () => {
      const wrapped = wrapLanguageModel({
        model: provider().chatModel('m'),
        middleware: contextEngineMiddleware({ client, sessionId: 'ai-1', budgetTokens: 500 }),
      });
      expect((await generateText({ model: wrapped, prompt: PLAN })).text).toBe('Noted.');
      const second = await generateText({
        model: wrapped,
        system: 'You are a travel agent.',
        prompt: 'Where am I going?',
      });
      expect(second.text).toBe('You are going to Lisbon.');

      const sent = requests[1]!.messages;
      expect(sent[0]).toEqual({ role: 'system', content: 'You are a travel agent.' });
      expect(sent.map((m) => m.role)).toEqual(['system', 'system', 'user', 'user']);
      expect(text(sent[2]!)).toContain(`<data`);
      expect(text(sent[2]!)).toContain(PLAN);
      expect(text(sent[3]!)).toBe('Where am I going?');
      expect(await stored('ai-1')).toEqual([
        ['user', PLAN],
        ['assistant', 'Noted.'],
        ['user', 'Where am I going?'],
        ['assistant', 'You are going to Lisbon.'],
      ]);
    });

    it('writes a streamed answer once the stream is read', async () => {
      const wrapped = wrapLanguageModel({
        model: provider().chatModel('m'),
        middleware: contextEngineMiddleware({ client, sessionId: 'ai-1', userId: 'ada' }),
      });
      const result = streamText({ model: wrapped, prompt: 'Where am I going? Tell me again.' });
      expect(await result.text).toBe('You are going to Lisbon.');
      expect(requests[0]!.stream).toBe(true);
      expect((await stored('ai-1')).slice(-2)).toEqual([
        ['user', 'Where am I going? Tell me again.'],
        ['assistant', 'You are going to Lisbon.'],
      ]);
    });
  });

  describe('OpenAI Agents SDK session', () => {
    const agent = () =>
      new Agent({
        name: 'Travel',
        instructions: 'You are a travel agent.',
        model: new OpenAIChatCompletionsModel(new OpenAI({ baseURL: model.url, apiKey: 'k' }), 'm'),
      });

    it('keeps a conversation across runs: getItems, addItems, popItem, clearSession', async () => {
      const session = new ContextEngineSession({ client, sessionId: 'agents-1' });
      expect(await session.getItems()).toEqual([]);
      await run(agent(), PLAN, { session });
      const second = await run(agent(), 'Where am I going?', { session });
      expect(second.finalOutput).toBe('You are going to Lisbon.');
      expect(requests[1]!.messages.map(text)).toContain(PLAN);

      const items = await session.getItems();
      expect(items.map((i) => ('role' in i ? i.role : i.type))).toEqual(['user', 'assistant', 'user', 'assistant']);
      expect(await session.getItems(1)).toEqual([items[3]]);
      expect(await session.popItem()).toEqual(items[3]);
      expect(await session.getItems()).toEqual(items.slice(0, 3));
      await session.clearSession();
      expect(await session.getItems()).toEqual([]);
    });

    it('stores function calls and their results as turns and gives them back as items', async () => {
      const session = new ContextEngineSession({ client, sessionId: 'agents-2' });
      await session.addItems([
        { role: 'user', content: 'Find my booking.' },
        { type: 'function_call', callId: 'call-1', name: 'find_booking', arguments: '{"name":"Ada"}' },
        {
          type: 'function_call_result',
          callId: 'call-1',
          name: 'find_booking',
          status: 'completed',
          output: 'PNR X7Q2LM',
        },
      ]);
      expect(await session.getItems()).toEqual([
        { role: 'user', content: 'Find my booking.' },
        { type: 'function_call', callId: 'call-1', name: 'find_booking', arguments: '{"name":"Ada"}' },
        {
          type: 'function_call_result',
          callId: 'call-1',
          name: 'find_booking',
          status: 'completed',
          output: 'PNR X7Q2LM',
        },
      ]);
    });

    it("reaches the engine's MCP tools over Streamable HTTP, as docs/mcp.md shows", async () => {
      const web = await listen(h.app.fetch);
      const mcp = new MCPServerStreamableHttp({
        url: `${web.url}/mcp`,
        requestInit: { headers: { Authorization: `Bearer ${key}` } },
      });
      try {
        await mcp.connect();
        expect((await mcp.listTools()).map((t) => t.name)).toContain('query_context');
        await run(agent(), PLAN, { session: new ContextEngineSession({ client, sessionId: 'agents-mcp' }) });
        const answer = await mcp.callTool('query_context', { session_id: 'agents-mcp', budget_tokens: 300 });
        expect(JSON.stringify(answer)).toContain('Lisbon in May');
      } finally {
        await mcp.close();
        await web.close();
      }
    });

    it('with a budget, answers the context for the next call as the history', async () => {
      const session = new ContextEngineSession({ client, sessionId: 'agents-3', budgetTokens: 300 });
      await session.addItems([{ role: 'user', content: PLAN }]);
      const items = await session.getItems();
      expect(items.map((i) => ('role' in i ? i.role : i.type))).toEqual(['system', 'user']);
      const result = await run(agent(), 'Where am I going?', { session });
      expect(result.finalOutput).toBe('You are going to Lisbon.');
    });
  });

  describe('LangChain.js chat message history', () => {
    it('runs a chain with RunnableWithMessageHistory over the engine', async () => {
      const prompt = ChatPromptTemplate.fromMessages([
        ['system', 'You are a travel agent.'],
        new MessagesPlaceholder('history'),
        ['human', '{input}'],
      ]);
      const chain = prompt.pipe(new ChatOpenAI({ model: 'm', apiKey: 'k', configuration: { baseURL: model.url } }));
      const withHistory = new RunnableWithMessageHistory({
        runnable: chain,
        getMessageHistory: (sessionId: string) => new ContextEngineChatMessageHistory({ client, sessionId }),
        inputMessagesKey: 'input',
        historyMessagesKey: 'history',
      });
      const config = { configurable: { sessionId: 'lc-1' } };
      await withHistory.invoke({ input: PLAN }, config);
      const reply = await withHistory.invoke({ input: 'Where am I going?' }, config);
      expect(reply.content).toBe('You are going to Lisbon.');
      expect(await stored('lc-1')).toEqual([
        ['user', PLAN],
        ['assistant', 'Noted.'],
        ['user', 'Where am I going?'],
        ['assistant', 'You are going to Lisbon.'],
      ]);
    });

    it('stores tool calls and results, answers a budgeted context, and clears', async () => {
      const history = new ContextEngineChatMessageHistory({ client, sessionId: 'lc-2' });
      await history.addMessages([
        new HumanMessage(PLAN),
        new AIMessage({ content: '', tool_calls: [{ id: 'c1', name: 'find_flight', args: { to: 'LIS' } }] }),
        new ToolMessage({ content: 'TP 1234 at 09:40', tool_call_id: 'c1' }),
      ]);
      const messages = await history.getMessages();
      expect(messages.map((m) => m.getType())).toEqual(['human', 'ai', 'tool']);
      expect((messages[1] as AIMessage).tool_calls?.[0]).toMatchObject({
        id: 'c1',
        name: 'find_flight',
        args: { to: 'LIS' },
      });

      const budgeted = new ContextEngineChatMessageHistory({ client, sessionId: 'lc-2', budgetTokens: 300 });
      const context = await budgeted.getMessages();
      expect(context.map((m) => m.getType())).toEqual(['system', 'human']);
      expect(String(context[1]!.content)).toContain('TP 1234 at 09:40');

      await history.clear();
      expect(await history.getMessages()).toEqual([]);
    });
  });
});
