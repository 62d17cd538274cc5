// EventHandler (seed 000): HandleNewConversation, HandleToolExecution, HandleMemoryUpdate. An event is processed
// before it is acknowledged; `event_id` makes redelivery harmless.
import type { Ctx } from '../ports.js';
import type { EventBody } from '../schemas/events.js';
import { createMemory, deleteMemory } from './memories.js';
import { updateToolResult } from './tool-chains.js';
import { writeTurns } from './write-turns.js';

export async function handleEvent(ctx: Ctx, event: EventBody): Promise<{ event_id: string; type: string; status: 'processed'; result: unknown }> {
  const eventId = event.event_id ?? crypto.randomUUID();
  const done = (result: unknown) => ({ event_id: eventId, type: event.type, status: 'processed' as const, result });
  switch (event.type) {
    case 'conversation.new': {
      const { replayed: _, ...result } = await writeTurns(ctx, {
        sessionId: event.session_id,
        idempotencyKey: event.event_id ? `event:${event.event_id}` : undefined,
        body: { turns: event.turns, agent_id: event.agent_id, user_id: event.user_id, resume_from: event.resume_from },
      });
      return done(result);
    }
    case 'tool.executed': {
      if (event.chain_id) {
        return done(await updateToolResult(ctx, {
          sessionId: event.session_id, chainId: event.chain_id, stepId: event.tool_call_id,
          body: { status: event.status, result: event.result },
        }));
      }
      const { replayed: _, ...result } = await writeTurns(ctx, {
        sessionId: event.session_id,
        body: {
          turns: [{
            role: 'tool', name: event.tool_name, tool_call_id: event.tool_call_id,
            content: event.status === 'error' ? `ERROR: ${event.result}` : event.result,
            external_id: `toolresult:${event.tool_call_id}`,
          }],
        },
      });
      return done(result);
    }
    case 'memory.updated': {
      if (event.action === 'delete') {
        await deleteMemory(ctx, event.memory_id!);
        return done({ deleted: event.memory_id });
      }
      return done(await createMemory(ctx, event.memory!, event.memory_id));
    }
  }
}
