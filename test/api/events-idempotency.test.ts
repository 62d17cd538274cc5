// `event_id` makes every event type idempotent: delivered again, one after the other or several at once, an event
// applies once and each delivery answers as the first did.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, harness, snapshot, tenant, turns3, type Client, type Harness } from '../helpers.js';

describe.each(backends)('event_id on $name', ({ open }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(open);
  });
  afterAll(async () => h.close());

  /** A session with a registered tool chain, so every event type has something to act on. */
  async function setUp(): Promise<{ c: Client; memoryId: string }> {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/e/turns', { user_id: 'ada', turns: turns3 });
    const steps = [{ step_id: 'st', tool_name: 'lookup' }];
    await c.call('POST', '/v1/sessions/e/tool-chains', { chain_id: 'ch', steps });
    const memory = await c.call('POST', '/v1/memories', { scope: 'user', user_id: 'ada', content: 'Ada likes trams.' });
    const memoryId = memory.json.id;
    return { c, memoryId };
  }

  const events = (memoryId: string) => [
    { type: 'conversation.new', event_id: 'ev-conv', session_id: 'e2', user_id: 'ada', turns: turns3 },
    { type: 'tool.executed', event_id: 'ev-tool', session_id: 'e', tool_call_id: 'c', tool_name: 'sky', result: 'Sun' },
    {
      type: 'tool.executed',
      event_id: 'ev-chain',
      session_id: 'e',
      chain_id: 'ch',
      tool_call_id: 'st',
      tool_name: 'lookup',
      result: 'found',
    },
    {
      type: 'memory.updated',
      event_id: 'ev-mem',
      action: 'upsert',
      memory: { scope: 'user', user_id: 'ada', content: 'Ada is vegan.' },
    },
    {
      type: 'memory.updated',
      event_id: 'ev-mem-id',
      action: 'upsert',
      memory_id: memoryId,
      memory: { scope: 'user', user_id: 'ada', content: 'Ada likes trams and ferries.' },
    },
    { type: 'memory.updated', event_id: 'ev-del', action: 'delete', memory_id: memoryId },
  ];

  /** Row counts once the background jobs a write queues (embeddings, precompute) have run. */
  const settled = async (c: Client) => {
    await h.deps.queue.drain();
    return snapshot(h.deps, c.tenantId);
  };

  it('a redelivered event of every type changes nothing and answers as the first delivery did', async () => {
    const { c, memoryId } = await setUp();
    for (const event of events(memoryId)) {
      const first = await c.call('POST', '/v1/events', event);
      expect(first.status, event.event_id).toBe(202);
      const after = await settled(c);
      const again = await c.call('POST', '/v1/events', event);
      expect(again.status, event.event_id).toBe(202);
      expect(again.json, event.event_id).toEqual(first.json);
      expect(await settled(c), event.event_id).toEqual(after);
    }
    // One memory from the upsert without memory_id; the other one was updated, then deleted.
    const memories = (await c.call('GET', '/v1/memories?user_id=ada&origin=written')).json.memories;
    expect(memories.map((m: any) => m.content)).toEqual(['Ada is vegan.']);
  });

  it('concurrent deliveries of one event apply once and all answer alike', async () => {
    // Two tenants in the same state: one gets each event once, the other gets eight copies of it at once.
    const one = await setUp();
    const many = await setUp();
    for (const [i, event] of events(one.memoryId).entries()) {
      expect((await one.c.call('POST', '/v1/events', event)).status, event.event_id).toBe(202);
      const copy = events(many.memoryId)[i]!;
      const answers = await Promise.all(Array.from({ length: 8 }, () => many.c.call('POST', '/v1/events', copy)));
      expect(
        answers.map((a) => a.status),
        event.event_id,
      ).toEqual(Array(8).fill(202));
      for (const a of answers) expect(a.json, event.event_id).toEqual(answers[0]!.json);
    }
    expect(await settled(many.c)).toEqual(await settled(one.c));
  });

  it('a delete delivered twice answers as the first did; without event_id a missing memory stays 404', async () => {
    const { c, memoryId } = await setUp();
    const del = { type: 'memory.updated', event_id: 'ev-d', action: 'delete', memory_id: memoryId };
    const first = await c.call('POST', '/v1/events', del);
    expect(first.json.result).toEqual({ deleted: memoryId });
    expect(await c.call('POST', '/v1/events', del)).toMatchObject({ status: 202, json: first.json });
    const plain = await c.call('POST', '/v1/events', { type: 'memory.updated', action: 'delete', memory_id: memoryId });
    expect(plain.status).toBe(404);
  });
});
