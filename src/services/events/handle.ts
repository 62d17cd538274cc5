// External events (POST /v1/events, the Kafka inbound topic): conversation.new, tool.executed and memory.updated, each
// applied once per `event_id`, so a redelivery answers as the first delivery did.
import { checkJsonInput } from '../../http/middleware/input-guard.js';
import type { Ctx } from '../../ports.js';
import type { EventBody } from '../../schemas/events.js';
import { createMemory, deleteMemory, eventMemoryId } from '../memories.js';
import { updateToolResult } from '../tool-chains.js';
import { writeTurns } from '../write-turns.js';

/**
 * Applies one event before it is acknowledged. Each type is keyed by the event id in the statement that applies it (a
 * write's idempotency record, a memory id derived from it, a delete that ends the same however often it runs), so a
 * redelivery, sequential or concurrent, has no separate record to race on.
 */
export async function handleEvent(
  ctx: Ctx,
  event: EventBody,
): Promise<{ event_id: string; type: string; status: 'processed'; result: unknown }> {
  // Events read from Kafka never passed the HTTP body guard: the same input rule for them.
  checkJsonInput(event);
  const eventId = event.event_id ?? crypto.randomUUID();
  const idempotencyKey = event.event_id ? `event:${event.event_id}` : undefined;
  const done = (result: unknown) => ({ event_id: eventId, type: event.type, status: 'processed' as const, result });
  switch (event.type) {
    case 'conversation.new': {
      const { replayed: _, ...result } = await writeTurns(ctx, {
        sessionId: event.session_id,
        idempotencyKey,
        body: { turns: event.turns, agent_id: event.agent_id, user_id: event.user_id, resume_from: event.resume_from },
      });
      return done(result);
    }
    case 'tool.executed': {
      // Setting a step's result again to the same value changes nothing, and its turn has an external id.
      if (event.chain_id) {
        return done(
          await updateToolResult(ctx, {
            sessionId: event.session_id,
            chainId: event.chain_id,
            stepId: event.tool_call_id,
            body: { status: event.status, result: event.result },
          }),
        );
      }
      const { replayed: _, ...result } = await writeTurns(ctx, {
        sessionId: event.session_id,
        idempotencyKey,
        body: {
          turns: [
            {
              role: 'tool',
              name: event.tool_name,
              tool_call_id: event.tool_call_id,
              content: event.status === 'error' ? `ERROR: ${event.result}` : event.result,
              external_id: `toolresult:${event.tool_call_id}`,
            },
          ],
        },
      });
      return done(result);
    }
    case 'memory.updated': {
      // With an event id a delete answers the same on every delivery: the memory is gone, whoever removed it.
      if (event.action === 'delete') {
        await deleteMemory(ctx, event.memory_id!, { missingOk: !!event.event_id });
        return done({ deleted: event.memory_id });
      }
      // An upsert without memory_id stores under an id derived from the event id, once; with one, it is an upsert
      // of that memory, which gives the same memory however often it is applied.
      if (event.memory_id || !event.event_id) return done(await createMemory(ctx, event.memory!, event.memory_id));
      const id = await eventMemoryId(ctx.tenantId, event.event_id);
      return done(await createMemory(ctx, event.memory!, id, { once: true }));
    }
  }
}
