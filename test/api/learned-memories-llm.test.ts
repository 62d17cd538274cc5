// Learned memories with a model, through the openai SDK against a local OpenAI-compatible server: the request
// carries the turns and the user's memories, the answered operations are applied, a malformed answer falls back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { backends, harness, tenant, type Client, type Harness } from '../helpers.js';
import { completionJson, startModelServer, type ModelRequest, type ModelServer } from '../model-server.js';

interface Shown {
  memories: { ref: string; kind: string; date: string; text: string }[];
  turns: { sequence: number; role: string; speaker: string; date: string; text: string }[];
}

describe.each(backends)('learned memories with a model on $name', ({ open }) => {
  let server: ModelServer;
  let h: Harness;
  const requests: ModelRequest[] = [];
  const lines: string[] = [];
  /** What the model answers for the memory request it is shown. */
  let answer: (shown: Shown) => string = () => '{"operations":[]}';

  beforeAll(async () => {
    server = await startModelServer((req) => {
      if (req.path !== '/v1/chat/completions') return { status: 404, json: { error: { message: 'not served' } } };
      requests.push(req);
      const shown = JSON.parse(req.body.messages[1].content) as Shown;
      return { json: completionJson(req.body.model, answer(shown)) };
    });
    const logger = createLogger('info', {}, (line) => lines.push(line));
    h = await harness(
      open,
      {
        OPENAI_API_KEY: 'sk-test',
        OPENAI_BASE_URL: server.url,
        CONTEXT_LLM_MODEL: 'local-model',
        CONTEXT_EMBEDDING_MODEL: 'none',
      },
      { logger },
    );
  });
  afterAll(async () => {
    await h.close();
    await server.close();
  });

  const write = async (c: Client, session: string, content: string, at: string) => {
    const r = await c.call('POST', `/v1/sessions/${session}/turns`, {
      user_id: 'u1',
      agent_id: 'a1',
      turns: [
        { role: 'user', content, created_at: at },
        { role: 'assistant', content: 'Noted.' },
      ],
    });
    expect(r.status).toBe(201);
    await h.deps.queue.drain();
  };
  const memories = async (c: Client) =>
    (await c.call('GET', '/v1/memories?user_id=u1&include_superseded=true')).json.memories as any[];
  const op = (event: string, ref: string | null, kind: string, text: string, turns: number[]) => ({
    event,
    ref,
    kind,
    text,
    source_turns: turns,
  });
  const refOf = (shown: Shown, word: string) => shown.memories.find((m) => m.text.includes(word))!.ref;

  it('asks with the turns and memories; ADD creates, UPDATE supersedes, DELETE closes, NONE keeps', async () => {
    const c = await tenant(h);
    answer = () =>
      JSON.stringify({
        operations: [
          op('ADD', null, 'constraint', 'Daughter Mira is allergic to peanuts', [1]),
          op('ADD', null, 'fact', 'Lives in Lisbon', [1]),
          op('ADD', null, 'task', 'Needs to renew passport before June', [1]),
        ],
      });
    await write(
      c,
      's1',
      'My daughter Mira is allergic to peanuts. We live in Lisbon. I need to renew my passport before June.',
      '2024-05-08T10:00:00Z',
    );
    const first = requests.at(-1)!;
    expect(first.body.response_format.type).toBe('json_schema');
    expect(first.body.model).toBe('local-model');
    const shown1 = JSON.parse(first.body.messages[1].content) as Shown;
    expect(shown1.memories).toEqual([]);
    expect(shown1.turns.map((t) => [t.sequence, t.role, t.date])).toEqual([
      [1, 'user', '2024-05-08'],
      [2, 'assistant', expect.any(String)],
    ]);
    expect(shown1.turns[0]!.text).toContain('allergic to peanuts');
    expect(
      (await memories(c)).map((m) => [m.kind, m.content, m.metadata.learned_by, m.source_sequences]).sort(),
    ).toEqual([
      ['constraint', 'Daughter Mira is allergic to peanuts', 'model', [1]],
      ['fact', 'Lives in Lisbon', 'model', [1]],
      ['task', 'Needs to renew passport before June', 'model', [1]],
    ]);

    answer = (shown) =>
      JSON.stringify({
        operations: [
          op('UPDATE', refOf(shown, 'Lisbon'), 'fact', 'Lives in Porto (moved from Lisbon)', [1]),
          op('DELETE', refOf(shown, 'passport'), 'task', 'Needs to renew passport before June', [1]),
          op('NONE', refOf(shown, 'Mira'), 'constraint', 'Daughter Mira is allergic to peanuts', [1]),
        ],
      });
    await write(c, 's2', 'We moved to Porto, and my new passport arrived yesterday.', '2024-08-20T09:30:00Z');
    const shown2 = JSON.parse(requests.at(-1)!.body.messages[1].content) as Shown;
    expect(shown2.memories.map((m) => m.text).sort()).toEqual([
      'Daughter Mira is allergic to peanuts',
      'Lives in Lisbon',
      'Needs to renew passport before June',
    ]);
    expect(shown2.turns[0]!.text).toContain('moved to Porto');

    const all = await memories(c);
    const by = (word: string) => all.find((m) => m.content.includes(word))!;
    expect(all).toHaveLength(4);
    expect(by('Porto')).toMatchObject({
      session_id: 's2',
      valid_to: null,
      source_sequences: [1],
      valid_from: '2024-08-20T09:30:00.000Z',
    });
    expect(by('Lives in Lisbon')).toMatchObject({
      valid_to: '2024-08-20T09:30:00.000Z',
      superseded_by: by('Porto').id,
      ended_in_session: 's2',
    });
    expect(by('passport')).toMatchObject({
      valid_to: '2024-08-20T09:30:00.000Z',
      superseded_by: null,
      ended_in_session: 's2',
    });
    expect(by('Mira')).toMatchObject({ valid_to: null, session_id: 's1' });
    const current = (await c.call('GET', '/v1/memories?user_id=u1')).json.memories.map((m: any) => m.content).sort();
    expect(current).toEqual(['Daughter Mira is allergic to peanuts', 'Lives in Porto (moved from Lisbon)']);
  });

  it('a malformed or inconsistent answer falls back to the extractive path, logged without content', async () => {
    const c = await tenant(h);
    const answers = [
      'this is not JSON at all: My daughter Mira',
      JSON.stringify({ operations: [op('MAYBE', null, 'fact', 'x', [1])] }),
      JSON.stringify({ operations: [op('UPDATE', 'm99', 'fact', 'Lives in Porto', [1])] }),
      JSON.stringify({ operations: [op('ADD', null, 'fact', 'Lives in Porto', [42])] }),
    ];
    for (const [i, text] of answers.entries()) {
      answer = () => text;
      lines.length = 0;
      await write(c, `f${i}`, `My son Teodoro${i} is allergic to kiwis.`, '2024-05-08T10:00:00Z');
      const learned = (await memories(c)).filter((m) => m.session_id === `f${i}`);
      expect(learned.map((m) => [m.content, m.metadata.learned_by])).toEqual([
        [`My son Teodoro${i} is allergic to kiwis.`, 'extractive'],
      ]);
      const warned = lines.filter((l) => l.includes('learning extractively'));
      expect(warned).toHaveLength(1);
      expect(lines.join('\n')).not.toMatch(/Teodoro|kiwis|Mira|Porto/);
    }
  });

  it('a failing model falls back too; a caller-written memory is never ended by the model', async () => {
    const c = await tenant(h);
    const written = await c.call('POST', '/v1/memories', {
      scope: 'user',
      user_id: 'u1',
      agent_id: 'a1',
      kind: 'fact',
      content: 'Lives in Lisbon',
    });
    expect(written.status).toBe(201);
    answer = (shown) =>
      JSON.stringify({
        operations: [
          op('UPDATE', refOf(shown, 'Lisbon'), 'fact', 'Lives in Porto', [1]),
          op('DELETE', refOf(shown, 'Lisbon'), 'fact', 'Lives in Lisbon', [1]),
        ],
      });
    await write(c, 'w1', 'We moved to Porto.', '2024-08-20T09:30:00Z');
    const all = await memories(c);
    expect(all.find((m) => m.id === written.json.id)).toMatchObject({ valid_to: null, origin: 'written' });
    expect(all.find((m) => m.origin === 'learned')).toMatchObject({ content: 'Lives in Porto', valid_to: null });

    const failing = await startModelServer(() => ({ status: 500, json: { error: { message: 'We moved to Porto' } } }));
    const broken = await harness(open, {
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: failing.url,
      CONTEXT_EMBEDDING_MODEL: 'none',
    });
    try {
      const d = await tenant(broken);
      await d.call('POST', '/v1/sessions/b1/turns', {
        user_id: 'u1',
        turns: [{ role: 'user', content: 'I prefer aisle seats on trains.' }],
      });
      await broken.deps.queue.drain();
      const learned = (await d.call('GET', '/v1/memories?user_id=u1')).json.memories;
      expect(learned.map((m: any) => [m.kind, m.content, m.metadata.learned_by])).toEqual([
        ['preference', 'I prefer aisle seats on trains.', 'extractive'],
      ]);
    } finally {
      await broken.close();
      await failing.close();
    }
  });
});
