import { z } from '@hono/zod-openapi';
import { limits } from '../config/tuning.js';
import { errorCodes } from '../errors.js';
import { Id, Metadata, Timestamp } from './common.js';
import { ContextRequest, QueryContextResponse } from './context.js';

export const Role = z.enum(['user', 'assistant', 'tool', 'system']);

export const ToolCall = z.strictObject({
  id: z.string().min(1).max(limits.idLength),
  name: z.string().min(1).max(128),
  /** JSON text as the model produced it, or an object. */
  arguments: z.union([z.string().max(limits.contentChars), z.record(z.string(), z.unknown())]).default('{}'),
});

export const TurnInput = z
  .strictObject({
    role: Role,
    content: z.string().max(limits.contentChars),
    name: z.string().min(1).max(128).optional(),
    external_id: z.string().min(1).max(limits.idLength).optional(),
    created_at: Timestamp.optional(),
    tool_call_id: z.string().min(1).max(limits.idLength).optional(),
    tool_calls: z.array(ToolCall).max(64).optional(),
    importance: z.number().min(0).max(1).optional(),
    metadata: Metadata.optional(),
  })
  .superRefine((t, ctx) => {
    if (t.role === 'tool' && !t.tool_call_id)
      ctx.addIssue({ code: 'custom', path: ['tool_call_id'], message: 'required when role is "tool"' });
    if (t.tool_calls && t.role !== 'assistant')
      ctx.addIssue({ code: 'custom', path: ['tool_calls'], message: 'only assistant turns make tool calls' });
    // A tool may legitimately return nothing; every other turn says something or calls a tool.
    if (t.content.trim() === '' && t.role !== 'tool' && !(t.tool_calls && t.tool_calls.length > 0))
      ctx.addIssue({ code: 'custom', path: ['content'], message: 'must not be empty' });
  })
  .openapi('TurnInput');
export type TurnInput = z.infer<typeof TurnInput>;

export const WriteTurnsBody = z
  .strictObject({
    turns: z.array(TurnInput).min(1).max(limits.turnsPerBatch),
    agent_id: Id.optional(),
    user_id: Id.optional(),
    metadata: Metadata.optional().openapi({
      description: 'Session metadata; `task` (string) becomes the task anchor.',
    }),
    resume_from: Id.optional().openapi({
      description:
        'On the first write: start from an earlier session of the same user and agent (its id, or `latest`). Its ' +
        "constraints, open tasks, summary and memories become this session's starting summary, labelled by origin.",
    }),
    return_context: ContextRequest.optional().openapi({
      description:
        'Also answer with the context of the next model call, as `POST /v1/sessions/{id}/context` ' +
        'would give it right after this write (the same fields): an agent turn is then two calls, this write and the write of the answer.',
    }),
  })
  .openapi('WriteTurnsRequest', {
    example: {
      turns: [
        { role: 'user', content: 'My name is Ada and I am planning a trip to Lisbon in May.' },
        { role: 'assistant', content: 'Lisbon in May is lovely. Hotels or apartments?' },
      ],
    },
  });
export type WriteTurnsBody = z.infer<typeof WriteTurnsBody>;

export const WrittenTurn = z.object({
  id: z.string(),
  sequence: z.number().int(),
  token_count: z.number().int(),
  external_id: z.string().nullable(),
  duplicate: z.boolean().openapi({ description: 'True when a turn with this external_id was already stored.' }),
});

export const WriteTurnsResponse = z
  .object({
    session_id: z.string(),
    session_created: z.boolean(),
    turns: z.array(WrittenTurn),
    total_tokens: z.number().int(),
    compression_queued: z.boolean(),
    resumed_from: z
      .string()
      .nullable()
      .optional()
      .openapi({ description: 'The earlier session this one started from.' }),
    context: QueryContextResponse.optional().openapi({ description: 'With `return_context`: the context.' }),
    context_error: z
      .object({ code: z.enum(errorCodes), message: z.string() })
      .optional()
      .openapi({
        description:
          'With `return_context`, when the turns were stored but the context could not be given (e.g. an unknown ' +
          '`model_call_id`): the error the context request would have answered. The write is not undone.',
      }),
  })
  .openapi('WriteTurnsResponse');
export type WriteTurnsResponse = z.infer<typeof WriteTurnsResponse>;

export const TurnView = z
  .object({
    id: z.string(),
    sequence: z.number().int(),
    role: Role,
    name: z.string().nullable(),
    content: z.string(),
    token_count: z.number().int(),
    external_id: z.string().nullable(),
    tool_call_id: z.string().nullable(),
    tool_calls: z.array(z.object({ id: z.string(), name: z.string(), arguments: z.string() })).nullable(),
    created_at: z.string(),
  })
  .openapi('Turn');
export type TurnView = z.infer<typeof TurnView>;
