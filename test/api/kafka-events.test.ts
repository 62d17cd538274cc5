// The Kafka events adapter on Node through @upstash/kafka and the local Kafka-REST stand-in: domain events out,
// external events in through handleEvent, and a topic that is down never failing a request.
import { randomBytes } from 'node:crypto';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { Kafka } from '@upstash/kafka';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafkaGateway, type KafkaGateway } from '../../infra/kafka-rest-gateway.js';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { consumeInbound } from '../../src/services/events/inbound.js';
import { harness, tenant, turns3, type Harness } from '../helpers.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `kafka-events-test-${randomBytes(4).toString('hex')}:`;
const eventsTopic = `context-events-${randomBytes(3).toString('hex')}`;
const inboundTopic = `context-inbound-${randomBytes(3).toString('hex')}`;

let gateway: KafkaGateway;
let kafka: Kafka;
let h: Harness;

/** Every domain event published so far, read by a consumer group of the test's own. */
async function published(group: string) {
  const out: any[] = [];
  for (;;) {
    const batch = await kafka.consumer().consume({
      consumerGroupId: group,
      instanceId: 'reader',
      topics: [eventsTopic],
      autoOffsetReset: 'earliest',
      timeout: 50,
    });
    if (batch.length === 0) return out;
    out.push(
      ...batch.map((m) => ({
        ...JSON.parse(m.value),
        headers: Object.fromEntries(m.headers.map((x) => [x.key, x.value])),
        key: m.key,
      })),
    );
  }
}

beforeAll(async () => {
  gateway = await startKafkaGateway({
    redisUrl,
    username: 'engine',
    password: randomBytes(8).toString('hex'),
    prefix,
    redeliverAfterMs: 200,
  });
  kafka = new Kafka({ url: gateway.url, username: gateway.username, password: gateway.password });
  h = await harness(() => openPglite(), {
    KAFKA_REST_URL: gateway.url,
    KAFKA_REST_USERNAME: gateway.username,
    KAFKA_REST_PASSWORD: gateway.password,
    KAFKA_EVENTS_TOPIC: eventsTopic,
    KAFKA_INBOUND_TOPIC: inboundTopic,
  });
});

afterAll(async () => {
  await h.close();
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await gateway.close();
});

describe('Kafka events on Node', () => {
  it('publishes turns.written, context.compressed and context.deleted from the services', async () => {
    const c = await tenant(h);
    expect((await c.call('POST', '/v1/sessions/k1/turns', { turns: turns3 })).status).toBe(201);
    expect((await c.call('POST', '/v1/sessions/k1/rebuild', { max_tokens: 200 })).status).toBe(202);
    await h.deps.queue.drain();
    expect((await c.call('DELETE', '/v1/sessions/k1')).status).toBe(204);

    const mine = (await published('reader-1')).filter((e) => e.tenant_id === c.tenantId);
    expect(mine.map((e) => e.type)).toEqual(['turns.written', 'context.compressed', 'context.deleted']);
    expect(mine[0]).toMatchObject({
      session_id: 'k1',
      session_version: 1,
      first_sequence: 1,
      last_sequence: 3,
      turn_count: 3,
      headers: { type: 'turns.written', tenant_id: c.tenantId },
      key: `${c.tenantId}:k1`,
    });
    expect(mine[0].event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(mine[1]).toMatchObject({ session_id: 'k1', mode: 'rebuild', through_sequence: expect.any(Number) });
    expect(mine[2]).toMatchObject({ scope: 'session', id: 'k1', session_ids: ['k1'] });
    // Identifiers and counts only: no turn content leaves through the topic.
    expect(JSON.stringify(mine)).not.toContain('Alfama');
  });

  it('consumes external events with handleEvent, skips what can never succeed, and commits', async () => {
    const c = await tenant(h);
    const p = kafka.producer();
    const tenantHeader = [{ key: 'tenant_id', value: c.tenantId }];
    await p.produce(
      inboundTopic,
      {
        type: 'conversation.new',
        session_id: 'k2',
        turns: [{ role: 'user', content: 'Book a table for two in Alfama.' }],
      },
      { headers: tenantHeader },
    );
    await p.produce(inboundTopic, 'not json', { headers: tenantHeader });
    await p.produce(inboundTopic, { type: 'conversation.new', session_id: 'k2', turns: [] }, { headers: tenantHeader });
    await p.produce(inboundTopic, {
      type: 'conversation.new',
      session_id: 'k2',
      turns: [{ role: 'user', content: 'no tenant' }],
    });
    // A memory of a session that does not exist: refused (a delete of a missing memory is not, under an event id).
    const orphan = { scope: 'user', user_id: 'u', session_id: 'no-such-session', content: 'x' };
    await p.produce(
      inboundTopic,
      { type: 'memory.updated', action: 'upsert', memory: orphan },
      { headers: tenantHeader },
    );
    await p.produce(
      inboundTopic,
      {
        type: 'tool.executed',
        session_id: 'k2',
        tool_call_id: 'call_9',
        tool_name: 'reserve',
        result: 'table 12 at 20:00',
      },
      { headers: tenantHeader },
    );

    expect(await consumeInbound(h.deps, h.deps.inbound!)).toEqual({ processed: 2, rejected: 4, failed: false });
    const turns = (await c.call('GET', '/v1/sessions/k2/turns')).json.turns;
    expect(turns.map((t: any) => t.content)).toEqual(['Book a table for two in Alfama.', 'table 12 at 20:00']);
    // Everything was committed: a later run finds nothing, even after the redelivery delay.
    await new Promise((r) => setTimeout(r, 300));
    expect(await consumeInbound(h.deps, h.deps.inbound!)).toEqual({ processed: 0, rejected: 0, failed: false });
  });

  it('leaves an event that failed for a passing reason to a later run, which applies it once', async () => {
    const c = await tenant(h);
    await kafka.producer().produce(
      inboundTopic,
      { type: 'conversation.new', session_id: 'k3', turns: [{ role: 'user', content: 'Retry me.' }] },
      {
        headers: [{ key: 'tenant_id', value: c.tenantId }],
      },
    );
    const down = {
      ...h.deps,
      store: {
        ...h.deps.store,
        query: async () => {
          throw new Error('connection refused');
        },
      },
    };
    expect(await consumeInbound(down, h.deps.inbound!)).toEqual({ processed: 0, rejected: 0, failed: true });
    expect((await c.call('GET', '/v1/sessions/k3')).status).toBe(404);

    // Processed, but the commit is lost: the message comes back and is recognised by its coordinates.
    await new Promise((r) => setTimeout(r, 300));
    const source = h.deps.inbound!;
    const noCommit = {
      ...source,
      receive: () => source.receive(),
      commit: async () => {
        throw new Error('commit lost');
      },
    };
    await expect(consumeInbound(h.deps, noCommit)).rejects.toThrow('commit lost');
    expect((await c.call('GET', '/v1/sessions/k3/turns')).json.turns).toHaveLength(1);

    await new Promise((r) => setTimeout(r, 300));
    expect(await consumeInbound(h.deps, source)).toEqual({ processed: 1, rejected: 0, failed: false });
    expect((await c.call('GET', '/v1/sessions/k3/turns')).json.turns).toHaveLength(1);
  });

  it('a topic that cannot be reached never fails a request', async () => {
    const s = netServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const down = await harness(() => openPglite(), {
      KAFKA_REST_URL: `http://127.0.0.1:${port}`,
      KAFKA_REST_USERNAME: 'u',
      KAFKA_REST_PASSWORD: 'p',
      KAFKA_EVENTS_TOPIC: eventsTopic,
    });
    try {
      const c = await tenant(down);
      const started = Date.now();
      expect((await c.call('POST', '/v1/sessions/k4/turns', { turns: turns3 })).status).toBe(201);
      expect((await c.call('DELETE', '/v1/sessions/k4')).status).toBe(204);
      // Bounded by the publish timeout (2 s each), not by the client's own retries (about 15 s).
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      await down.close();
    }
  });
});
