// Exercises the production @upstash/kafka client against the local Kafka-REST stand-in over Redis Streams.
import { randomBytes } from 'node:crypto';
import { Kafka } from '@upstash/kafka';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKafkaGateway, type KafkaGateway } from '../../infra/kafka-rest-gateway.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `kafka-test-${randomBytes(4).toString('hex')}:`;
const topic = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;

let gateway: KafkaGateway;
let kafka: Kafka;
let redis: Redis;

beforeAll(async () => {
  gateway = await startKafkaGateway({
    redisUrl,
    username: 'tester',
    password: randomBytes(8).toString('hex'),
    prefix,
    redeliverAfterMs: 300,
  });
  kafka = new Kafka({ url: gateway.url, username: gateway.username, password: gateway.password });
  redis = new Redis(redisUrl);
});

afterAll(async () => {
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
    await gateway.close();
  }
});

describe('@upstash/kafka against the stand-in', () => {
  it('produces with gap-free offsets, keys and headers, and consumes them in order', async () => {
    const t = topic('orders');
    const p = kafka.producer();
    const first = await p.produce(t, { n: 1 }, { key: 'k1', headers: [{ key: 'tenant_id', value: 'acme' }] });
    expect(first).toMatchObject({ topic: t, partition: 0, offset: 0 });
    const many = await p.produceMany([
      { topic: t, value: 'two' },
      { topic: t, value: 'aGVsbG8=' },
    ]);
    expect(many.map((m) => m.offset)).toEqual([1, 2]);

    const c = kafka.consumer();
    const got = await c.consume({
      consumerGroupId: 'g1',
      instanceId: 'i1',
      topics: [t],
      autoOffsetReset: 'earliest',
      autoCommit: false,
      timeout: 100,
    });
    expect(got.map((m) => [m.offset, m.value])).toEqual([
      [0, '{"n":1}'],
      [1, 'two'],
      [2, 'aGVsbG8='],
    ]);
    expect(got[0]).toMatchObject({ key: 'k1', headers: [{ key: 'tenant_id', value: 'acme' }] });
    expect(got[0]!.timestamp).toBeGreaterThan(Date.now() - 60_000);
    // Nothing new for the same instance until more is produced.
    expect(
      await c.consume({ consumerGroupId: 'g1', instanceId: 'i1', topics: [t], autoCommit: false, timeout: 50 }),
    ).toEqual([]);
    expect((await kafka.admin().topics())[t]).toBe(1);
  });

  it('commits the next offset to read, and redelivers what was not committed', async () => {
    const t = topic('events');
    const p = kafka.producer();
    for (const v of ['a', 'b', 'c']) await p.produce(t, v);
    const c = kafka.consumer();
    const req = {
      consumerGroupId: 'g2',
      instanceId: 'i1',
      topics: [t],
      autoOffsetReset: 'earliest' as const,
      autoCommit: false,
      timeout: 50,
    };
    expect((await c.consume(req)).map((m) => m.value)).toEqual(['a', 'b', 'c']);
    await c.commit({ consumerGroupId: 'g2', instanceId: 'i1', offset: { topic: t, partition: 0, offset: 2 } });
    expect(
      await c.committed({ consumerGroupId: 'g2', instanceId: 'i1', topicPartitions: [{ topic: t, partition: 0 }] }),
    ).toEqual([{ topic: t, partition: 0, offset: 2 }]);
    // Offset 2 ('c') was delivered but not committed: after the redelivery delay the group gets it again.
    await new Promise((r) => setTimeout(r, 400));
    expect((await c.consume(req)).map((m) => m.value)).toEqual(['c']);
    await c.commit({ consumerGroupId: 'g2', instanceId: 'i1' });
    await new Promise((r) => setTimeout(r, 400));
    expect(await c.consume(req)).toEqual([]);
    expect(
      (
        await c.committed({ consumerGroupId: 'g2', instanceId: 'i1', topicPartitions: [{ topic: t, partition: 0 }] })
      )[0]!.offset,
    ).toBe(3);
  });

  it('starts a new group at the end by default, and auto-commits unless told not to', async () => {
    const t = topic('latest');
    const p = kafka.producer();
    await p.produce(t, 'old');
    const c = kafka.consumer();
    expect(await c.consume({ consumerGroupId: 'g3', instanceId: 'i1', topics: [t], timeout: 50 })).toEqual([]);
    await p.produce(t, 'new');
    expect(
      (await c.consume({ consumerGroupId: 'g3', instanceId: 'i1', topics: [t], timeout: 50 })).map((m) => m.value),
    ).toEqual(['new']);
    expect(
      (
        await c.committed({ consumerGroupId: 'g3', instanceId: 'i1', topicPartitions: [{ topic: t, partition: 0 }] })
      )[0]!.offset,
    ).toBe(2);
  });

  it('waits up to the timeout for a message produced meanwhile', async () => {
    const t = topic('wait');
    const c = kafka.consumer();
    await c.consume({ consumerGroupId: 'g4', instanceId: 'i1', topics: [t], autoOffsetReset: 'earliest', timeout: 10 });
    const pending = c.consume({ consumerGroupId: 'g4', instanceId: 'i1', topics: [t], timeout: 5_000 });
    await new Promise((r) => setTimeout(r, 200));
    await kafka.producer().produce(t, 'late');
    const started = Date.now();
    expect((await pending).map((m) => m.value)).toEqual(['late']);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('answers 401 to wrong credentials and 400 to a partition that does not exist', async () => {
    const bad = await fetch(`${gateway.url}/produce`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('tester:wrong').toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ topic: topic('x'), value: 'v' }),
    });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: 'Unauthorized', status: 401 });
    const auth = `Basic ${Buffer.from(`${gateway.username}:${gateway.password}`).toString('base64')}`;
    const wrongPartition = await fetch(`${gateway.url}/produce`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ topic: topic('x'), value: 'v', partition: 3 }),
    });
    expect(wrongPartition.status).toBe(400);
    expect((await wrongPartition.json()).error).toMatch(/partition/);
  });
});
