import { z } from '@hono/zod-openapi';
import { limits } from '../config/tuning.js';
import { cursorParam, Id, Page, PageLimit, PgTimestamp } from './common.js';
import { TurnView } from './turns.js';

export const SessionSummary = z
  .object({
    session_id: z.string(),
    agent_id: z.string().nullable(),
    user_id: z.string().nullable(),
    status: z.string(),
    metadata: z.record(z.string(), z.unknown()),
    turn_count: z.number().int(),
    total_tokens: z.number().int(),
    version: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('SessionSummary');
export type SessionSummary = z.infer<typeof SessionSummary>;

export const SessionView = SessionSummary.extend({
  window: z.object({
    max_tokens: z.number().int(),
    compression_strategy: z.string(),
    summary: z.string(),
    summary_token_count: z.number().int(),
    summarized_through: z.number().int(),
    version: z.number().int(),
  }),
}).openapi('Session');

/** The page cursor of a session list: the created_at (as PostgreSQL prints it) and id of the page's last session. */
export const SessionCursor = z.tuple([PgTimestamp, Id]);

export const ListSessionsQuery = z.strictObject({
  user_id: Id.optional().openapi({ description: "Only this user's sessions." }),
  agent_id: Id.optional().openapi({ description: "Only this agent's sessions." }),
  limit: PageLimit,
  cursor: cursorParam(SessionCursor),
});
export type ListSessionsQuery = z.infer<typeof ListSessionsQuery>;

export const SessionList = Page.extend({ sessions: z.array(SessionSummary) }).openapi('SessionList');

export const ListTurnsQuery = z.strictObject({
  // Bounded like the integer column it is compared with: an out-of-range cursor is refused here, not by the database.
  after_sequence: z.coerce.number().int().min(0).max(2_147_483_647).default(0),
  limit: z.coerce.number().int().min(1).max(limits.pageSizeMax).default(limits.pageSizeDefault),
});
export const TurnList = Page.extend({ turns: z.array(TurnView) }).openapi('TurnList');

export const SearchHistoryBody = z
  .strictObject({
    query: z.string().min(1).max(8_000),
    limit: z.number().int().min(1).max(limits.searchResultsMax).default(10),
  })
  .openapi('SearchHistoryRequest', { example: { query: 'apartment budget', limit: 5 } });
export const SearchHistoryResponse = z
  .object({ results: z.array(TurnView.extend({ score: z.number() })) })
  .openapi('SearchHistoryResponse');

export const RebuildBody = z
  .strictObject({
    strategy: z.enum(['summarize', 'truncate', 'importance']).optional(),
    max_tokens: z.number().int().min(200).max(limits.budgetTokensMax).optional(),
  })
  .openapi('RebuildRequest');
export const RebuildAccepted = z
  .object({
    job_id: z.string(),
    session_id: z.string(),
    status: z.literal('queued'),
    strategy: z.string(),
    max_tokens: z.number().int(),
  })
  .openapi('RebuildAccepted');

export const Compaction = z.object({
  id: z.string(),
  strategy: z.string(),
  reason: z.string(),
  from_sequence: z.number().int(),
  through_sequence: z.number().int(),
  turn_count: z.number().int(),
  tokens_before: z.number().int(),
  tokens_after: z.number().int(),
  output: z.string(),
  model: z.string().nullable(),
  duration_ms: z.number(),
  created_at: z.string(),
});
export const CompactionList = z.object({ compactions: z.array(Compaction) }).openapi('CompactionList');

export const AgentContext = z
  .object({
    agent_id: z.string(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    config: z.record(z.string(), z.unknown()),
    llm_provider: z.string().nullable(),
    session_count: z.number().int(),
    memories: z.array(
      z.object({ id: z.string(), kind: z.string(), content: z.string(), shared_group_ids: z.array(z.string()) }),
    ),
  })
  .openapi('AgentContext');
