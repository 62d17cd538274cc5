import { z } from '@hono/zod-openapi';
import { limits } from '../config/tuning.js';
import { Id } from './common.js';
import { CreateMemoryBody } from './memories.js';
import { TurnInput } from './turns.js';

const base = {
  event_id: z.string().min(1).max(limits.idLength).optional().openapi({ description: 'Deduplicates redelivery.' }),
};

export const NewConversationEvent = z.strictObject({
  ...base,
  type: z.literal('conversation.new'),
  session_id: Id,
  agent_id: Id.optional(),
  user_id: Id.optional(),
  resume_from: Id.optional().openapi({
    description: 'Start from an earlier session of the same user and agent (an id or `latest`).',
  }),
  turns: z.array(TurnInput).min(1).max(limits.turnsPerBatch),
});

export const ToolExecutionEvent = z.strictObject({
  ...base,
  type: z.literal('tool.executed'),
  session_id: Id,
  tool_call_id: Id.openapi({ description: 'The tool call; with `chain_id`, the step of that chain it completes.' }),
  tool_name: z.string().min(1).max(128),
  status: z.enum(['ok', 'error']).default('ok'),
  result: z.string().max(limits.contentChars),
  chain_id: Id.optional(),
});

export const MemoryUpdateEvent = z
  .strictObject({
    ...base,
    type: z.literal('memory.updated'),
    action: z.enum(['upsert', 'delete']),
    memory_id: z.uuid().optional(),
    memory: CreateMemoryBody.optional(),
  })
  .refine((e) => (e.action === 'delete' ? !!e.memory_id : !!e.memory), {
    message: 'upsert needs `memory`; delete needs `memory_id`',
  });

export const EventBody = z.union([NewConversationEvent, ToolExecutionEvent, MemoryUpdateEvent]).openapi('Event', {
  example: { type: 'conversation.new', session_id: 'sess-42', turns: [{ role: 'user', content: 'Hi' }] },
});
export type EventBody = z.infer<typeof EventBody>;

export const EventAccepted = z
  .object({ event_id: z.string(), type: z.string(), status: z.literal('processed'), result: z.unknown() })
  .openapi('EventAccepted');
