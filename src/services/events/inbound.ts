// External events from a Kafka topic, handled by `handleEvent`; the tenant is the message's `tenant_id` header. Offsets
// are committed after processing; a redelivery is harmless (`event_id`: its own or its topic coordinates).
import { sql } from 'drizzle-orm';
import { ApiError } from '../../errors.js';
import type { Ctx, Deps } from '../../ports.js';
import { EventBody } from '../../schemas/events.js';
import { handleEvent } from './handle.js';

/** A received message, not yet committed. */
export interface InboundMessage {
  topic: string;
  partition: number;
  offset: number;
  value: string;
  headers: Record<string, string>;
}

export interface InboundSource {
  readonly topic: string;
  /** The next messages of the topic for this consumer group, oldest first; empty once it is caught up. */
  receive(): Promise<InboundMessage[]>;
  /** Marks `message` and everything before it in its partition as processed. */
  commit(message: InboundMessage): Promise<void>;
}

export interface InboundResult {
  processed: number;
  /** Messages that can never succeed (malformed, unknown tenant, refused by the service): logged and committed. */
  rejected: number;
  /** A message that failed for a reason that may pass (the database is down): it and the rest wait for a later run. */
  failed: boolean;
}

/** Messages one run handles at most, so a backlog drains over several cron runs rather than exceeding one. */
export const INBOUND_MAX_PER_RUN = 500;

export async function consumeInbound(
  deps: Deps,
  source: InboundSource,
  maxMessages = INBOUND_MAX_PER_RUN,
): Promise<InboundResult> {
  const result: InboundResult = { processed: 0, rejected: 0, failed: false };
  while (result.processed + result.rejected < maxMessages) {
    const batch = await source.receive();
    if (batch.length === 0) break;
    let done: InboundMessage | undefined;
    for (const msg of batch) {
      const outcome = await handleOne(deps, msg);
      if (outcome === 'retry') {
        result.failed = true;
        break;
      }
      result[outcome] += 1;
      done = msg;
    }
    // One commit per batch: a crash before it only redelivers events that are idempotent anyway.
    if (done) await source.commit(done);
    if (result.failed) break;
  }
  return result;
}

async function handleOne(deps: Deps, msg: InboundMessage): Promise<'processed' | 'rejected' | 'retry'> {
  const where = { topic: msg.topic, partition: msg.partition, offset: msg.offset };
  let raw: unknown;
  try {
    raw = JSON.parse(msg.value);
  } catch {
    deps.logger.warn('inbound event is not JSON; skipped', where);
    return 'rejected';
  }
  const parsed = EventBody.safeParse(raw);
  if (!parsed.success) {
    deps.logger.warn('inbound event is not a valid event; skipped', {
      ...where,
      issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
    });
    return 'rejected';
  }
  const tenantId = msg.headers.tenant_id;
  const event = {
    ...parsed.data,
    event_id: parsed.data.event_id ?? `kafka:${msg.topic}:${msg.partition}:${msg.offset}`,
  };
  const requestId = `kafka:${msg.topic}:${msg.partition}:${msg.offset}`;
  const ctx: Ctx = {
    ...deps,
    tenantId: tenantId ?? '',
    requestId,
    logger: deps.logger.child({ request_id: requestId, tenant_id: tenantId }),
  };
  try {
    if (!tenantId || !(await tenantExists(deps, tenantId))) {
      ctx.logger.warn('inbound event has no known tenant_id header; skipped', where);
      return 'rejected';
    }
    await handleEvent(ctx, event);
    return 'processed';
  } catch (err) {
    // A refusal (not found, conflict, bad request) will be the same next time; anything else may pass later.
    if (err instanceof ApiError && !['UNAVAILABLE', 'INTERNAL', 'RATE_LIMITED'].includes(err.code)) {
      ctx.logger.warn('inbound event refused; skipped', { ...where, code: err.code, error: err.message });
      return 'rejected';
    }
    ctx.logger.warn('inbound event failed; it will be read again', { ...where, error: (err as Error).message });
    return 'retry';
  }
}

async function tenantExists(deps: Deps, tenantId: string): Promise<boolean> {
  const rows = await deps.store.query<{ id: string }>(sql`SELECT id FROM tenants WHERE id = ${tenantId}`);
  return rows.length > 0;
}
