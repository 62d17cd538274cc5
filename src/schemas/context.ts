import { z } from '@hono/zod-openapi';
import { limits } from '../config/tuning.js';
import { Id, Timestamp } from './common.js';

export const sectionNames = [
  'task_anchor',
  'hard_constraints',
  'recent_turns',
  'relevant_history',
  'past_sessions',
  'tool_findings',
  'retrieved_memory',
  'summary',
] as const;
export const SectionName = z.enum(sectionNames);
export type SectionName = z.infer<typeof SectionName>;

/** Relative weights of sections in a budget; named sections replace the default shares, then all are normalised. */
export const SectionWeights = z.partialRecord(SectionName, z.number().min(0).max(100)).openapi({
  description: 'Relative section weights, e.g. `{"relevant_history": 3, "recent_turns": 1}`.',
  example: { relevant_history: 3 },
});
export type SectionWeights = z.infer<typeof SectionWeights>;

/** Whose turns a query recalls: this session's, or also its user's other sessions with the same agent. */
export const HistoryScope = z.enum(['session', 'user']);

const queryFields = {
  query: z.string().max(8_000).optional().openapi({ description: 'What the next model call is about.' }),
  budget_tokens: z.number().int().positive().max(limits.budgetTokensMax).openapi({ example: 1000 }),
  reserve_tokens: z
    .number()
    .int()
    .min(0)
    .max(limits.budgetTokensMax)
    .default(0)
    .openapi({ description: 'Tokens held back for the answer; the context fits in budget_tokens − reserve_tokens.' }),
  template: z.enum(['default', 'compact']).default('default'),
  recent_turns: z.number().int().min(0).max(100).default(12),
  time_range: z.strictObject({ from: Timestamp.optional(), to: Timestamp.optional() }).optional(),
  section_weights: SectionWeights.optional(),
  history_scope: HistoryScope.optional().openapi({
    description:
      'Whose turns relevant history is drawn from: `user` (the default for a session with a user_id) also recalls ' +
      "the same user's other sessions with the same agent, shown in blocks labelled with their session and date; " +
      "`session` keeps to this session. Without it the agent's `config.history_scope` applies.",
  }),
};

export const QueryContextBody = z.strictObject(queryFields).refine((b) => b.reserve_tokens < b.budget_tokens, {
  path: ['reserve_tokens'],
  message: 'must be smaller than budget_tokens',
});
export type QueryContextBody = z.infer<typeof QueryContextBody>;

/**
 * What the route takes: a full request, or `model_call_id` (and optionally `flow_id` and `query`) naming a model
 * call of the session's agent, whose context recipe then applies.
 */
export const ContextRequest = z
  .strictObject({
    ...queryFields,
    budget_tokens: queryFields.budget_tokens.optional(),
    reserve_tokens: z.number().int().min(0).max(limits.budgetTokensMax).optional(),
    template: z.enum(['default', 'compact']).optional(),
    recent_turns: z.number().int().min(0).max(100).optional(),
    model_call_id: Id.optional().openapi({
      description: "A model call of one of the agent's task flows; its precomputed context is served when current.",
    }),
    flow_id: Id.optional().openapi({
      description: 'The flow of `model_call_id`, when several flows use the same call id.',
    }),
  })
  .superRefine((b, ctx) => {
    if (b.model_call_id === undefined) {
      if (b.flow_id !== undefined)
        ctx.addIssue({ code: 'custom', path: ['flow_id'], message: 'only goes with model_call_id' });
      if (b.budget_tokens === undefined)
        ctx.addIssue({ code: 'custom', path: ['budget_tokens'], message: 'is required without model_call_id' });
      else if ((b.reserve_tokens ?? 0) >= b.budget_tokens)
        ctx.addIssue({ code: 'custom', path: ['reserve_tokens'], message: 'must be smaller than budget_tokens' });
      return;
    }
    for (const k of [
      'budget_tokens',
      'reserve_tokens',
      'template',
      'recent_turns',
      'time_range',
      'section_weights',
    ] as const)
      if (b[k] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: 'comes from the model call; leave it out with model_call_id',
        });
  })
  .openapi('QueryContextRequest', { example: { query: 'Where does Ada want to stay?', budget_tokens: 1000 } });
export type ContextRequest = z.infer<typeof ContextRequest>;

export const SectionReport = z.object({
  section: SectionName,
  allotted: z.number().int(),
  used: z.number().int(),
  kept: z.number().int(),
  dropped: z.number().int(),
  note: z.string(),
});

export const DroppedItem = z.object({
  id: z.string(),
  section: SectionName,
  reason: z.enum(['over_budget', 'duplicate', 'final_fit']),
  score: z.number(),
  tokens: z.number().int(),
});

export const BudgetReport = z
  .object({
    budget_tokens: z.number().int(),
    reserve_tokens: z.number().int(),
    frame_tokens: z.number().int().openapi({ description: 'Fixed text: preamble, section fences, reminder.' }),
    used_tokens: z.number().int(),
    sections: z.array(SectionReport),
    dropped: z.array(DroppedItem).openapi({ description: 'The best-scoring items that did not make it (up to 50).' }),
  })
  .openapi('BudgetReport');
export type BudgetReport = z.infer<typeof BudgetReport>;

export const HistoryItem = z.object({
  id: z.string(),
  source: z.enum(['recent', 'retrieved', 'summary', 'past_session']).openapi({
    description: '`past_session`: from another session of the same user and agent (`session_id`).',
  }),
  session_id: z.string().optional().openapi({ description: 'The session a `past_session` item comes from.' }),
  sequence: z.number().int().nullable(),
  role: z.string(),
  name: z.string().nullable(),
  content: z.string(),
  created_at: z.string().nullable(),
  score: z.number(),
  truncated: z.boolean(),
});

export const Envelope = z
  .object({
    task_summary: z.string(),
    hard_constraints: z.array(z.object({ id: z.string(), text: z.string(), source: z.string() })),
    relevant_history: z.array(HistoryItem),
    retrieved_memory: z.array(
      z.object({ id: z.string(), content: z.string(), scope: z.string(), kind: z.string(), score: z.number() }),
    ),
    tool_findings: z.array(
      z.object({
        id: z.string(),
        tool_call_id: z.string().nullable(),
        name: z.string().nullable(),
        content: z.string(),
        truncated: z.boolean(),
      }),
    ),
    budget_report: BudgetReport,
  })
  .openapi('ContextEnvelope');
export type Envelope = z.infer<typeof Envelope>;

export const RenderedMessage = z.object({ role: z.enum(['system', 'user']), content: z.string() });

export const QueryContextResponse = z
  .object({
    session_id: z.string(),
    request_id: z.string(),
    session_version: z.number().int(),
    envelope: Envelope,
    rendered: z.object({
      text: z.string(),
      messages: z.array(RenderedMessage).openapi({
        description: 'The same context as chat messages: instructions in `system`, quoted data in `user`.',
      }),
    }),
    token_count: z.number().int().openapi({ description: 'o200k tokens of rendered.text; never above the budget.' }),
    cached: z.boolean(),
    source: z.enum(['precomputed', 'live']).optional().openapi({
      description: '`precomputed`: prepared ahead for this session version; `live`: assembled for this request.',
    }),
    model_call_id: z.string().nullable().optional(),
    strategy: z
      .string()
      .optional()
      .openapi({ description: 'Context strategy and variant that produced this context.' }),
    variant: z.string().optional(),
  })
  .openapi('QueryContextResponse');
export type QueryContextResponse = z.infer<typeof QueryContextResponse>;
