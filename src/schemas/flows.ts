// Agents, their task flows (the model calls they make, each with its context recipe), traces and evaluations.
import { z } from '@hono/zod-openapi';
import { limits } from '../config/tuning.js';
import { Id } from './common.js';
import { HistoryScope, SectionWeights, sectionNames } from './context.js';

const Template = z.enum(['default', 'compact']);

const modelCall = (maxBudget: number, message?: string) =>
  z
    .strictObject({
      id: Id,
      model: z.string().min(1).max(128).openapi({ example: 'gpt-4o-mini' }),
      template: Template.default('default'),
      budget_tokens: z.number().int().positive().max(maxBudget, message),
      reserve_tokens: z.number().int().min(0).max(maxBudget).default(0),
      query: z
        .string()
        .min(1)
        .max(8_000)
        .optional()
        .openapi({ description: 'A fixed query this call always asks about.' }),
      recent_turns: z.number().int().min(0).max(100).optional(),
      section_weights: SectionWeights.optional(),
    })
    .refine((c) => c.reserve_tokens < c.budget_tokens, {
      path: ['reserve_tokens'],
      message: 'must be smaller than budget_tokens',
    });

export const ModelCall = modelCall(
  limits.modelCallBudgetTokens,
  `must be at most ${limits.modelCallBudgetTokens} (limits.modelCallBudgetTokens)`,
).openapi('ModelCall');
export type ModelCall = z.infer<typeof ModelCall>;

/** A recipe as read back from the store: one stored before its limit was lowered stays readable (and is served). */
export const StoredModelCall = modelCall(limits.budgetTokensMax);

/** The model calls the OpenAPI examples of a flow show. */
const exampleCalls = [
  { id: 'plan', model: 'gpt-4o-mini', template: 'default', budget_tokens: 1500, reserve_tokens: 0 },
  {
    id: 'answer',
    model: 'gpt-4o',
    template: 'compact',
    budget_tokens: 800,
    reserve_tokens: 100,
    section_weights: { recent_turns: 3 },
  },
];

export const TaskFlowBody = z
  .strictObject({
    name: z.string().max(200).optional(),
    model_calls: z
      .array(ModelCall)
      .min(1)
      .max(limits.modelCallsPerFlow, `at most ${limits.modelCallsPerFlow} model calls (limits.modelCallsPerFlow)`)
      .openapi({ description: 'The calls in the order the agent makes them.' }),
  })
  .refine((b) => new Set(b.model_calls.map((c) => c.id)).size === b.model_calls.length, {
    path: ['model_calls'],
    message: 'model call ids must be unique within a flow',
  })
  .openapi('TaskFlowRequest', {
    example: {
      name: 'trip planner',
      model_calls: exampleCalls,
    },
  });
export type TaskFlowBody = z.infer<typeof TaskFlowBody>;

export const TaskFlow = z
  .object({
    agent_id: z.string(),
    flow_id: z.string(),
    name: z.string().nullable(),
    model_calls: z.array(ModelCall),
    updated_at: z.string(),
  })
  .openapi('TaskFlow', {
    example: {
      agent_id: 'planner',
      flow_id: 'trip',
      name: 'trip planner',
      model_calls: exampleCalls,
      updated_at: '2026-05-08T13:56:00.000Z',
    },
  });
export type TaskFlow = z.infer<typeof TaskFlow>;

export const StrategyVariant = z.strictObject({
  name: Id,
  weight: z.number().min(0).max(1000).openapi({ description: 'Share of sessions, relative to the other variants.' }),
  template: Template.optional(),
  recent_turns: z.number().int().min(0).max(100).optional(),
  section_weights: SectionWeights.optional(),
});

/** True for a Standard Webhooks secret: `whsec_` and the base64 of 24 to 64 bytes. */
export function isStandardSecret(secret: string): boolean {
  const b64 = secret.slice('whsec_'.length);
  if (!secret.startsWith('whsec_') || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return false;
  const bytes = (b64.length / 4) * 3 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
  return bytes >= 24 && bytes <= 64;
}

export const AgentConfig = z
  .strictObject({
    groups: z
      .array(Id)
      .max(50)
      .optional()
      .openapi({ description: 'Groups whose agent-public memories this agent reads.' }),
    webhook: z
      .strictObject({
        url: z.url({ protocol: /^https?$/ }),
        secret: z
          .string()
          .min(16)
          .max(256)
          .refine(
            (s) => !s.startsWith('whsec_') || isStandardSecret(s),
            'a whsec_ secret is the base64 of 24 to 64 bytes',
          )
          .openapi({
            description:
              'The Standard Webhooks signing secret: `whsec_` and the base64 of 24 to 64 random bytes; never returned. ' +
              'A plain-text secret (at least 16 characters) also signs: receivers use `whsec_` + its base64.',
          }),
      })
      .optional()
      .openapi({ description: 'Called when the contexts of a session are precomputed.' }),
    resume: z.enum(['none', 'latest']).optional().openapi({
      description: "`latest`: a new session starts from the same user's latest earlier session with this agent.",
    }),
    history_scope: HistoryScope.optional().openapi({
      description: "The `history_scope` of this agent's queries that name none: `user` (the default) or `session`.",
    }),
    strategy: z
      .strictObject({
        name: Id,
        variants: z.array(StrategyVariant).min(1).max(10),
      })
      .refine((s) => new Set(s.variants.map((v) => v.name)).size === s.variants.length, {
        message: 'variant names must be unique',
      })
      .refine((s) => s.variants.some((v) => v.weight > 0), { message: 'at least one variant needs a positive weight' })
      .optional()
      .openapi({ description: 'A/B split of context strategies across sessions, applied to model-call contexts.' }),
  })
  .openapi('AgentConfig');
export type AgentConfig = z.infer<typeof AgentConfig>;

export const AgentBody = z
  .strictObject({
    agent_id: Id,
    name: z.string().max(200).optional(),
    description: z.string().max(2_000).optional(),
    llm_provider: z.string().max(128).optional(),
    config: AgentConfig.default({}),
  })
  .openapi('AgentRequest', {
    example: {
      agent_id: 'planner',
      name: 'Trip planner',
      llm_provider: 'openai',
      config: {
        webhook: { url: 'https://agent.example.com/hooks/context', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
        strategy: {
          name: 'history-weight',
          variants: [
            { name: 'control', weight: 1 },
            { name: 'history', weight: 1, section_weights: { relevant_history: 5 } },
          ],
        },
      },
    },
  });
export type AgentBody = z.infer<typeof AgentBody>;

export const Agent = z
  .object({
    agent_id: z.string(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    llm_provider: z.string().nullable(),
    config: z
      .record(z.string(), z.unknown())
      .openapi({ description: 'The configuration, with the webhook secret left out.' }),
    created: z.boolean(),
  })
  .openapi('Agent', {
    example: {
      agent_id: 'planner',
      name: 'Trip planner',
      description: null,
      llm_provider: 'openai',
      config: { webhook: { url: 'https://agent.example.com/hooks/context' } },
      created: true,
    },
  });

export const AgentParams = z.object({ agent_id: Id.openapi({ param: { name: 'agent_id', in: 'path' } }) });
export const FlowParams = AgentParams.extend({ flow_id: Id.openapi({ param: { name: 'flow_id', in: 'path' } }) });

export const stepTypes = ['tool_call', 'reasoning_step', 'validation'] as const;
export const serviceStepTypes = ['cache', 'retrieve', 'rank', 'plan', 'assemble'] as const;

export const TraceStepInput = z.strictObject({
  type: z.enum(stepTypes),
  name: z.string().max(200).optional(),
  content: z.string().max(limits.contentChars).optional().openapi({ description: 'Stored as a truncated preview.' }),
  status: z.enum(['ok', 'error', 'blocked']).optional(),
  duration_ms: z.number().min(0).max(86_400_000).optional(),
  data: z
    .record(z.string().max(128), z.unknown())
    .optional()
    .openapi({ description: 'Small structured details (up to 4 KiB as JSON).' }),
});

export const TraceStepsBody = z
  .strictObject({ steps: z.array(TraceStepInput).min(1).max(100) })
  .openapi('TraceStepsRequest', {
    example: {
      steps: [
        {
          type: 'tool_call',
          name: 'search_apartments',
          content: '3 results near Alfama',
          status: 'ok',
          duration_ms: 120,
        },
        { type: 'validation', name: 'budget check', status: 'ok' },
      ],
    },
  });
export type TraceStepsBody = z.infer<typeof TraceStepsBody>;

export const TraceStep = z.object({
  seq: z.number().int(),
  actor: z.enum(['service', 'agent']),
  type: z.string(),
  name: z.string().nullable(),
  preview: z.string().nullable(),
  truncated: z.boolean(),
  status: z.string().nullable(),
  duration_ms: z.number().nullable(),
  data: z.record(z.string(), z.unknown()).nullable(),
  at: z.string(),
});
export type TraceStep = z.infer<typeof TraceStep>;

export const Trace = z
  .object({
    request_id: z.string(),
    session_id: z.string(),
    agent_id: z.string().nullable(),
    model_call_id: z.string().nullable(),
    strategy: z.string(),
    variant: z.string(),
    source: z.string(),
    token_count: z.number().int(),
    overflow: z.boolean(),
    created_at: z.string(),
    steps: z.array(TraceStep),
  })
  .openapi('Trace', {
    example: {
      request_id: 'req-7f3a',
      session_id: 'sess-42',
      agent_id: 'planner',
      model_call_id: 'plan',
      strategy: 'default',
      variant: 'default',
      source: 'precomputed',
      token_count: 412,
      overflow: false,
      created_at: '2026-05-08T13:56:00.000Z',
      steps: [
        {
          seq: 1,
          actor: 'service',
          type: 'cache',
          name: null,
          preview: null,
          truncated: false,
          status: 'ok',
          duration_ms: 0.8,
          data: { hit: true },
          at: '2026-05-08T13:56:00.000Z',
        },
        {
          seq: 2,
          actor: 'agent',
          type: 'tool_call',
          name: 'search_apartments',
          preview: '3 results near Alfama',
          truncated: false,
          status: 'ok',
          duration_ms: 120,
          data: null,
          at: '2026-05-08T13:56:01.000Z',
        },
      ],
    },
  });

export const RequestIdParams = z.object({
  request_id: z
    .string()
    .min(1)
    .max(limits.idLength)
    .regex(/^[A-Za-z0-9._:@-]+$/)
    .openapi({ param: { name: 'request_id', in: 'path' } }),
});

export const EvaluationBody = z
  .strictObject({
    request_id: RequestIdParams.shape.request_id.openapi({
      description: 'The request_id of the context being judged.',
    }),
    overall_score: z.number().min(0).max(1),
    task_success: z.boolean().optional(),
    validation_blocked: z.boolean().optional(),
    tool_errors: z.number().int().min(0).max(10_000).default(0),
  })
  .openapi('EvaluationRequest', {
    example: { request_id: 'req-7f3a', overall_score: 0.82, task_success: true, tool_errors: 0 },
  });
export type EvaluationBody = z.infer<typeof EvaluationBody>;

export const Evaluation = z
  .object({
    id: z.string(),
    request_id: z.string(),
    session_id: z.string(),
    strategy: z.string(),
    variant: z.string(),
    low_score: z.boolean(),
  })
  .openapi('Evaluation', {
    example: {
      id: '0b6e8a52-8a3f-4d55-9d0e-7c1b2a3d4e5f',
      request_id: 'req-7f3a',
      session_id: 'sess-42',
      strategy: 'history-weight',
      variant: 'history',
      low_score: false,
    },
  });

export const VariantReport = z.object({
  strategy: z.string(),
  variant: z.string(),
  contexts: z.number().int().openapi({ description: 'Contexts served (traces still kept).' }),
  evaluations: z.number().int(),
  evaluation_overall_score_mean: z.number().nullable(),
  evaluation_overall_score_p50: z.number().nullable(),
  evaluation_overall_score_p95: z.number().nullable(),
  low_score_rate: z.number().nullable(),
  task_success_rate: z.number().nullable(),
  tool_error_rate: z.number().nullable(),
  validation_blocked_rate: z.number().nullable(),
  mean_tokens: z.number().nullable(),
  overflow_rate: z.number().nullable(),
  trace_step_count_p95: z.number().nullable(),
});
export type VariantReport = z.infer<typeof VariantReport>;

export const StrategyReport = z
  .object({ agent_id: z.string().nullable(), low_score_threshold: z.number(), variants: z.array(VariantReport) })
  .openapi('StrategyReport', {
    example: {
      agent_id: 'planner',
      low_score_threshold: 0.5,
      variants: [
        {
          strategy: 'history-weight',
          variant: 'history',
          contexts: 120,
          evaluations: 40,
          evaluation_overall_score_mean: 0.78,
          evaluation_overall_score_p50: 0.8,
          evaluation_overall_score_p95: 0.97,
          low_score_rate: 0.1,
          task_success_rate: 0.85,
          tool_error_rate: 0.05,
          validation_blocked_rate: 0.02,
          mean_tokens: 1210,
          overflow_rate: 0.3,
          trace_step_count_p95: 9,
        },
      ],
    },
  });
export type StrategyReport = z.infer<typeof StrategyReport>;

export { SectionWeights, sectionNames };

export const TaskFlowList = z
  .object({ task_flows: z.array(TaskFlow) })
  .openapi('TaskFlowList', { example: { task_flows: [] } });

export const TraceStepsAppended = z
  .object({ request_id: z.string(), step_count: z.number().int() })
  .openapi('TraceStepsAppended', { example: { request_id: 'req-7f3a', step_count: 8 } });
