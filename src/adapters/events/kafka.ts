// Kafka over the Upstash Kafka REST protocol with `@upstash/kafka`: plain HTTPS, so it runs in Workers as well as
// in Node. Publishes domain events to one topic; reads external events from another.
import { Kafka } from '@upstash/kafka';
import { joinKey } from '../../cache-keys.js';
import type { Env } from '../../config/env.js';
import type { DomainEvent, EventPublisher } from '../../ports.js';
import type { InboundSource } from '../../services/events/inbound.js';

export interface KafkaAdapters {
  events?: EventPublisher;
  inbound?: InboundSource;
}

/**
 * `@upstash/kafka` retries a failed call five times over about 15 s. A write must not wait that long for a
 * best-effort event, so a publish gives up after this; the retries it leaves running end with the request.
 */
const PUBLISH_TIMEOUT_MS = 2_000;
/** How long a consume waits on the server for messages when none are ready. */
const CONSUME_WAIT_MS = 1_000;

/** The adapters the settings ask for; none unless the URL, username and password are all set. */
export function kafkaFromEnv(
  env: Pick<
    Env,
    | 'KAFKA_REST_URL'
    | 'KAFKA_REST_USERNAME'
    | 'KAFKA_REST_PASSWORD'
    | 'KAFKA_EVENTS_TOPIC'
    | 'KAFKA_INBOUND_TOPIC'
    | 'KAFKA_CONSUMER_GROUP'
  >,
): KafkaAdapters {
  if (!env.KAFKA_REST_URL || !env.KAFKA_REST_USERNAME || !env.KAFKA_REST_PASSWORD) return {};
  const kafka = new Kafka({
    url: env.KAFKA_REST_URL,
    username: env.KAFKA_REST_USERNAME,
    password: env.KAFKA_REST_PASSWORD,
  });
  return {
    events: env.KAFKA_EVENTS_TOPIC ? kafkaEvents(kafka, env.KAFKA_EVENTS_TOPIC) : undefined,
    inbound: env.KAFKA_INBOUND_TOPIC
      ? kafkaInbound(kafka, { topic: env.KAFKA_INBOUND_TOPIC, group: env.KAFKA_CONSUMER_GROUP })
      : undefined,
  };
}

export function kafkaEvents(kafka: Kafka, topic: string, opts: { timeoutMs?: number } = {}): EventPublisher {
  const producer = kafka.producer();
  const timeoutMs = opts.timeoutMs ?? PUBLISH_TIMEOUT_MS;
  return {
    async publish(event: DomainEvent) {
      // Keyed by session (or deleted owner), so one session's events keep their order within a partition.
      const subject = 'session_id' in event ? [event.session_id] : [event.scope, event.id];
      const message = { event_id: crypto.randomUUID(), occurred_at: new Date().toISOString(), ...event };
      await withTimeout(
        producer.produce(topic, message, {
          key: joinKey(event.tenant_id, ...subject),
          headers: [
            { key: 'type', value: event.type },
            { key: 'tenant_id', value: event.tenant_id },
          ],
        }),
        timeoutMs,
        `publishing ${event.type} to ${topic}`,
      );
    },
  };
}

export function kafkaInbound(
  kafka: Kafka,
  opts: { topic: string; group: string; instance?: string; waitMs?: number },
): InboundSource {
  const consumer = kafka.consumer();
  // One fixed instance per group: the Worker's cron runs one at a time, and Upstash keeps an instance's assignment
  // between calls, so each run resumes where the previous one committed.
  const instanceId = opts.instance ?? `${opts.group}-cron`;
  return {
    topic: opts.topic,
    async receive() {
      const messages = await consumer.consume({
        consumerGroupId: opts.group,
        instanceId,
        topics: [opts.topic],
        timeout: opts.waitMs ?? CONSUME_WAIT_MS,
        // Committed only after processing, so a crash re-reads rather than loses; a new group starts at the
        // beginning so events published before its first run are not skipped.
        autoCommit: false,
        autoOffsetReset: 'earliest',
      });
      return messages
        .map((m) => ({
          topic: m.topic,
          partition: m.partition,
          offset: m.offset,
          value: m.value,
          headers: Object.fromEntries((m.headers ?? []).map((h) => [h.key, h.value])),
        }))
        .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
    },
    async commit(message) {
      // Kafka commits the next offset to read.
      await consumer.commit({
        consumerGroupId: opts.group,
        instanceId,
        offset: { topic: message.topic, partition: message.partition, offset: message.offset + 1 },
      });
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  // The losing promise must not surface as an unhandled rejection.
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => timer !== undefined && clearTimeout(timer));
}
