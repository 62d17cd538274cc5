// The examples run as users would run them: the import CLI as a process against a server on a real port, and the
// agent loop against a stand-in OpenAI-compatible model server.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentTurn } from '../../examples/agent-loop.js';
import { ask as askAiSdk } from '../../examples/ai-sdk.js';
import { ask as askLangChain } from '../../examples/langchain.js';
import { ask as askAgents } from '../../examples/openai-agents.js';
import { parseConversation } from '../../examples/import-conversation.js';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { ContextClient } from '../../src/client/index.js';
import { listen } from '../browser.js';
import { harness, tenant, type Client, type Harness } from '../helpers.js';
import { completionJson, startModelServer, type ModelServer } from '../model-server.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');

describe('examples', () => {
  let h: Harness;
  let web: Awaited<ReturnType<typeof listen>>;
  let t: Client;
  const dir = mkdtempSync(path.join(tmpdir(), 'examples-'));

  beforeAll(async () => {
    h = await harness(() => openPglite());
    web = await listen(h.app.fetch);
    t = await tenant(h);
  });
  afterAll(async () => {
    await web.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('import-conversation', () => {
    const messages = [
      { role: 'system', content: 'You are a travel agent.' },
      { role: 'user', content: 'My name is Ada and I am planning a trip to Lisbon in May.' },
      { role: 'assistant', content: [{ type: 'text', text: 'Lovely. Shall I look for flights?' }] },
      { role: 'user', content: 'Yes, from Berlin.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'search_flights', arguments: '{"from":"BER","to":"LIS"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', name: 'search_flights', content: '{"flight":"TP533","price":129}' },
      { role: 'assistant', content: 'TP533 leaves Berlin at 10:05 for 129 euros.' },
    ];

    const importCli = (file: string, ...extra: string[]) =>
      run(
        'npx',
        [
          'tsx',
          'examples/import-conversation.ts',
          file,
          '--session',
          'imported',
          '--batch-size',
          '3',
          '--url',
          web.url,
          '--key',
          t.key,
          ...extra,
        ],
        {
          cwd: ROOT,
          env: process.env,
        },
      );

    it('imports a JSONL file in batches with progress on stderr, and a rerun stores nothing twice', async () => {
      const file = path.join(dir, 'chat.jsonl');
      writeFileSync(file, `${messages.map((m) => JSON.stringify(m)).join('\n')}\n`);

      const first = await importCli(file);
      expect(first.stderr).toContain('imported 3/7 turns (batch 1/3)');
      expect(first.stderr).toContain('imported 7/7 turns (batch 3/3)');
      expect(JSON.parse(first.stdout)).toEqual({
        session_id: 'imported',
        turns: 7,
        stored: 7,
        duplicates: 0,
        replayed_batches: 0,
      });

      const list = await t.call('GET', '/v1/sessions/imported/turns');
      expect(list.json.turns.map((x: any) => x.role)).toEqual(messages.map((m) => m.role));
      expect(list.json.turns[2].content).toBe('Lovely. Shall I look for flights?');
      expect(list.json.turns[4].tool_calls).toEqual([
        { id: 'call_1', name: 'search_flights', arguments: '{"from":"BER","to":"LIS"}' },
      ]);
      expect(list.json.turns[5]).toMatchObject({ role: 'tool', tool_call_id: 'call_1', name: 'search_flights' });

      const again = await importCli(file);
      expect(again.stderr).toContain('already stored');
      expect(JSON.parse(again.stdout)).toMatchObject({ stored: 0, replayed_batches: 3 });
      expect((await t.call('GET', '/v1/sessions/imported')).json.turn_count).toBe(7);
    }, 120_000);

    it('fails with the API error and a non-zero exit on a bad key', async () => {
      const file = path.join(dir, 'one.jsonl');
      writeFileSync(file, `${JSON.stringify(messages[1])}\n`);
      const failed = await run(
        'npx',
        ['tsx', 'examples/import-conversation.ts', file, '--session', 'x', '--url', web.url, '--key', 'ctx_wrong'],
        {
          cwd: ROOT,
          env: process.env,
        },
      ).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr).toContain('import failed: UNAUTHORIZED');
    }, 60_000);

    it('reads JSON arrays and {"messages": [...]} as well as JSON Lines', () => {
      const asArray = parseConversation(JSON.stringify(messages));
      expect(parseConversation(JSON.stringify({ messages }))).toEqual(asArray);
      expect(asArray).toHaveLength(7);
      expect(asArray[0]).toEqual({ role: 'system', content: 'You are a travel agent.' });
      expect(() => parseConversation('{"role":"user","content":"a"}\nnot json')).toThrow(/input:2: not JSON/);
      expect(() => parseConversation('[{"role":"robot","content":"a"}]')).toThrow(/message 1: role must be one of/);
    });
  });

  describe('agent-loop', () => {
    let model: ModelServer;
    let modelUrl: string;
    const calls: { messages: { role: string; content: string }[] }[] = [];

    beforeAll(async () => {
      // A stand-in for an OpenAI-compatible API: records each request and answers from what it was sent.
      model = await startModelServer(({ body: request }) => {
        calls.push(request);
        const context = request.messages
          .slice(0, -1)
          .map((m: { content: string }) => m.content)
          .join('\n');
        const question: string = request.messages.at(-1).content;
        const answer = !question.startsWith('Remind me')
          ? 'Noted.'
          : context.includes('To Lisbon in May.')
            ? 'You are going to Lisbon.'
            : 'I do not know.';
        return { json: completionJson(request.model, answer, `cmpl-${calls.length}`) };
      });
      modelUrl = model.url;
    });
    afterAll(() => model.close());

    it('writes every turn and sends the engine’s context with each model call, two engine calls a turn', async () => {
      const engineCalls: string[] = [];
      const opts = {
        context: new ContextClient({
          baseUrl: web.url,
          apiKey: t.key,
          fetch: (url, init) => {
            engineCalls.push(`${init.method} ${new URL(url).pathname}`);
            return fetch(url, init);
          },
        }),
        openai: new OpenAI({ baseURL: modelUrl, apiKey: 'test' }),
        model: 'stand-in',
        sessionId: 'agent-1',
        budgetTokens: 600,
        answerTokens: 100,
      };
      const first = await agentTurn(opts, 'Hi, I want to plan a trip.');
      expect(first.reply).toBe('Noted.');
      await agentTurn(opts, 'To Lisbon in May.');
      const third = await agentTurn(opts, 'Remind me where I am going?');
      expect(third.reply).toBe('You are going to Lisbon.');
      expect(third.contextTokens).toBeLessThanOrEqual(500);
      expect(engineCalls).toEqual(Array(6).fill('POST /v1/sessions/agent-1/turns'));

      // The third call carried the earlier turns as fenced context, then the new question last.
      const last = calls.at(-1)!;
      expect(last.messages[0]?.role).toBe('system');
      expect(last.messages.at(-1)).toEqual({ role: 'user', content: 'Remind me where I am going?' });
      expect(
        last.messages
          .slice(0, -1)
          .map((m) => m.content)
          .join('\n'),
      ).toContain('To Lisbon in May.');

      const stored = await t.call('GET', '/v1/sessions/agent-1/turns');
      expect(stored.json.turns.map((x: any) => `${x.role}: ${x.content}`)).toEqual([
        'user: Hi, I want to plan a trip.',
        'assistant: Noted.',
        'user: To Lisbon in May.',
        'assistant: Noted.',
        'user: Remind me where I am going?',
        'assistant: You are going to Lisbon.',
      ]);
    });
  });
  describe('framework examples', () => {
    let model: ModelServer;
    const saved = { ...process.env };
    type Message = { role: string; content: string | { text?: string }[] };
    const text = (m: Message) =>
      typeof m.content === 'string' ? m.content : m.content.map((p) => p.text ?? '').join('');

    beforeAll(async () => {
      // Answers "Where am I going?" from what came before it in the request; anything else is noted.
      model = await startModelServer(({ body }) => {
        const messages: Message[] = body.messages;
        const before = messages.slice(0, -1).map(text).join('\n');
        const going = text(messages.at(-1)!).startsWith('Where am I going');
        const reply = !going
          ? 'Noted.'
          : before.includes('Lisbon in May')
            ? 'You are going to Lisbon.'
            : 'I do not know.';
        return { json: completionJson(body.model, reply) };
      });
      Object.assign(process.env, { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'test', OPENAI_MODEL: 'stand-in' });
    });
    afterAll(async () => {
      process.env = saved;
      await model.close();
    });

    for (const [name, ask] of [
      ['ai-sdk', askAiSdk],
      ['openai-agents', askAgents],
      ['langchain', askLangChain],
    ] as const)
      it(`${name}: the second question is answered from the engine's memory of the first`, async () => {
        const session = `example-${name}`;
        expect(await ask(t.client, session, 'I am planning a trip to Lisbon in May.')).toBe('Noted.');
        expect(await ask(t.client, session, 'Where am I going?')).toBe('You are going to Lisbon.');
        const stored = await t.client.listTurns(session);
        expect(stored.turns.map((x) => x.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
      });
  });
});
