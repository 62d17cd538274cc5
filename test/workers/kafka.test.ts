// The Kafka events adapter inside workerd: @upstash/kafka against the Kafka-REST stand-in over Redis Streams.
// Domain events published by a write through the Worker, and external events read by its cron.
import { createScheduledController } from 'cloudflare:test';
import { Kafka } from '@upstash/kafka';
import { afterAll, describe, expect, it } from 'vitest';
import type { WorkerEnv } from '../../functions/env.js';
import worker from '../../functions/worker.js';
import { api, apiOn, newTenant, uid, upstash, workerEnv } from './helpers.js';

// The stand-in's key prefix (test/workers/stand-ins.ts), for cleaning up this file's topics.
const STAND_IN_PREFIX = 'kafka-workers-test:';
const eventsTopic = uid('events');
const inboundTopic = uid('inbound');
const group = uid('group');
const env = {
  ...workerEnv,
  KAFKA_EVENTS_TOPIC: eventsTopic,
  KAFKA_INBOUND_TOPIC: inboundTopic,
  KAFKA_CONSUMER_GROUP: group,
} as WorkerEnv;
const kafka = new Kafka({
  url: workerEnv.KAFKA_REST_URL!,
  username: workerEnv.KAFKA_REST_USERNAME!,
  password: workerEnv.KAFKA_REST_PASSWORD!,
});

afterAll(async () => {
  const redis = upstash();
  await redis.del(
    ...[eventsTopic, inboundTopic].map((t) => `${STAND_IN_PREFIX}topic:${t}`),
    `${STAND_IN_PREFIX}committed:${group}`,
    `${STAND_IN_PREFIX}committed:reader`,
  );
  await redis.srem(`${STAND_IN_PREFIX}topics`, eventsTopic, inboundTopic);
});

describe('kafka events in workerd', () => {
  it('publishes turns.written from a write through the Worker', async () => {
    const { tenantId, key } = await newTenant('kafka');
    const session = uid('sess');
    expect(
      (
        await apiOn(env, key, 'POST', `/v1/sessions/${session}/turns`, {
          turns: [{ role: 'user', content: 'Hello from the edge.' }],
        })
      ).status,
    ).toBe(201);

    const messages = await kafka.consumer().consume({
      consumerGroupId: 'reader',
      instanceId: 'test',
      topics: [eventsTopic],
      autoOffsetReset: 'earliest',
      timeout: 500,
    });
    const events = messages.map((m) => JSON.parse(m.value));
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'turns.written',
        tenant_id: tenantId,
        session_id: session,
        session_version: 1,
        first_sequence: 1,
        last_sequence: 1,
      }),
    );
    expect(messages[0]!.headers).toContainEqual({ key: 'tenant_id', value: tenantId });
  });

  it('reads external events from the inbound topic on the cron and commits them', async () => {
    const { tenantId, key } = await newTenant('kafka-in');
    const session = uid('sess');
    const headers = [{ key: 'tenant_id', value: tenantId }];
    await kafka.producer().produceMany([
      {
        topic: inboundTopic,
        value: {
          type: 'conversation.new',
          session_id: session,
          turns: [{ role: 'user', content: 'Sent through Kafka.' }],
        },
        headers,
      },
      {
        topic: inboundTopic,
        value: {
          type: 'tool.executed',
          session_id: session,
          tool_call_id: 'c1',
          tool_name: 'lookup',
          result: 'found 3 flights',
        },
        headers,
      },
      { topic: inboundTopic, value: 'not an event', headers },
    ]);

    await worker.scheduled(createScheduledController({ cron: '*/5 * * * *' }), env);
    const turns = await api(key, 'GET', `/v1/sessions/${session}/turns`);
    expect(turns.status).toBe(200);
    expect(turns.body.turns.map((t: any) => t.content)).toEqual(['Sent through Kafka.', 'found 3 flights']);
    const committed = await kafka.consumer().committed({
      consumerGroupId: group,
      instanceId: `${group}-cron`,
      topicPartitions: [{ topic: inboundTopic, partition: 0 }],
    });
    expect(committed).toEqual([{ topic: inboundTopic, partition: 0, offset: 3 }]);

    // A second run finds nothing new and stores nothing twice.
    await worker.scheduled(createScheduledController({ cron: '*/5 * * * *' }), env);
    expect((await api(key, 'GET', `/v1/sessions/${session}/turns`)).body.turns).toHaveLength(2);
  });
});
