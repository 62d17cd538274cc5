import { z } from '@hono/zod-openapi';
import { limits } from '../config/tuning.js';
import { Id } from './common.js';

export const ToolStepInput = z.strictObject({
  step_id: Id.openapi({ description: 'The tool call id the model produced.' }),
  tool_name: z.string().min(1).max(128),
  arguments: z.record(z.string(), z.unknown()).default({}),
});

export const RegisterToolChainBody = z
  .strictObject({
    chain_id: Id.optional(),
    name: z.string().max(200).optional(),
    steps: z.array(ToolStepInput).min(1).max(64),
  })
  .openapi('RegisterToolChainRequest', {
    example: {
      name: 'book trip',
      steps: [{ step_id: 'call_1', tool_name: 'search_flights', arguments: { to: 'LIS' } }],
    },
  });
export type RegisterToolChainBody = z.infer<typeof RegisterToolChainBody>;

export const UpdateToolResultBody = z
  .strictObject({
    status: z.enum(['ok', 'error']),
    result: z.string().max(limits.contentChars),
  })
  .openapi('UpdateToolResultRequest', { example: { status: 'ok', result: '{"flight":"TP1351","price":129}' } });
export type UpdateToolResultBody = z.infer<typeof UpdateToolResultBody>;

export const ToolStep = z.object({
  step_id: z.string(),
  position: z.number().int(),
  tool_name: z.string(),
  arguments: z.unknown(),
  status: z.enum(['pending', 'ok', 'error']),
  result: z.string().nullable(),
  result_token_count: z.number().int(),
  summary: z
    .string()
    .nullable()
    .openapi({ description: 'Key fields of the result (ids, numbers, dates, statuses, errors), values exact.' }),
});

export const ToolChain = z
  .object({
    chain_id: z.string(),
    session_id: z.string(),
    name: z.string().nullable(),
    status: z.enum(['open', 'done', 'failed']),
    steps: z.array(ToolStep),
  })
  .openapi('ToolChain');
export type ToolChain = z.infer<typeof ToolChain>;
