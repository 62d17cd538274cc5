// The data model. Every row carries its tenant and every key starts with it, so a query that forgets the tenant cannot
// match another tenant's row by accident.
import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  boolean,
  customType,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });
const created = () => timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow();
const updated = () => timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow();

export const tenants = pgTable('tenants', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: created(),
});

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    /** SHA-256 of the key; the key itself is shown once and never stored. */
    keyHash: text('key_hash').notNull(),
    prefix: text('prefix').notNull(),
    scopes: text('scopes').array().notNull(),
    createdAt: created(),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'string' }),
  },
  (t) => [uniqueIndex('api_keys_hash_idx').on(t.keyHash), index('api_keys_tenant_idx').on(t.tenantId)],
);

export const agents = pgTable(
  'agents',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    name: text('name'),
    description: text('description'),
    config: jsonb('config').$type<Record<string, unknown>>().notNull().default({}),
    llmProvider: text('llm_provider'),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] })],
);

export const users = pgTable(
  'users',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    createdAt: created(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] })],
);

export const sessions = pgTable(
  'sessions',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    agentId: text('agent_id'),
    userId: text('user_id'),
    taskFlowId: text('task_flow_id'),
    status: text('status').notNull().default('active'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    /** Highest turn sequence handed out; bumped in the same statement that inserts turns, so order is gap-free. */
    lastSequence: integer('last_sequence').notNull().default(0),
    /** Bumped on every change; cache keys embed it so every instance sees a write at once (ADR 0002). */
    version: integer('version').notNull().default(0),
    totalTokens: integer('total_tokens').notNull().default(0),
    /** The last sequence the memory-learning job has read; moved in the statement that stores what it learned. */
    learnedThrough: integer('learned_through').notNull().default(0),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('sessions_user_idx').on(t.tenantId, t.userId),
    index('sessions_agent_idx').on(t.tenantId, t.agentId),
    // The session list, newest first, a page at a time.
    index('sessions_created_idx').on(t.tenantId, t.createdAt, t.id),
    // The declared tasks of a user's sessions with an agent, newest first (recall across sessions).
    index('sessions_user_tasks_idx')
      .on(t.tenantId, t.userId, t.agentId, t.createdAt)
      .where(sql`(${t.metadata} ->> 'task') IS NOT NULL`),
  ],
);

/**
 * A user's history with one agent: the turns of all their sessions with it, numbered in one sequence in the order
 * they are written, so that recall across sessions reads them as it reads one long session.
 */
export const userHistories = pgTable(
  'user_histories',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    /** The agent's id, or '' for the user's sessions without an agent (ids are never empty). */
    agentKey: text('agent_key').notNull(),
    id: uuid('id').notNull().defaultRandom(),
    /** Highest history sequence handed out; bumped in the statement that inserts the turns. */
    lastSequence: integer('last_sequence').notNull().default(0),
    totalTokens: integer('total_tokens').notNull().default(0),
    /** Bumped by every write to one of its sessions and by every deletion: user-scoped cache keys embed it. */
    version: integer('version').notNull().default(0),
    /** Bumped when turns leave it (a session deleted, or moved to another agent's history): copies start afresh. */
    epoch: integer('epoch').notNull().default(0),
    createdAt: created(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.userId, t.agentKey] }),
    uniqueIndex('user_histories_id_idx').on(t.tenantId, t.id),
  ],
);

const sessionFk = (t: { tenantId: any; sessionId: any }, name: string) =>
  foreignKey({ name, columns: [t.tenantId, t.sessionId], foreignColumns: [sessions.tenantId, sessions.id] }).onDelete(
    'cascade',
  );

export const contextWindows = pgTable(
  'context_windows',
  {
    tenantId: text('tenant_id').notNull(),
    sessionId: text('session_id').notNull(),
    maxTokens: integer('max_tokens').notNull(),
    compressionStrategy: text('compression_strategy').notNull(),
    /** Rolling summary of every turn up to `summarizedThrough`; the turns themselves stay stored. */
    summary: text('summary').notNull().default(''),
    summaryTokenCount: integer('summary_token_count').notNull().default(0),
    summarizedThrough: integer('summarized_through').notNull().default(0),
    /** Tokens of the turns folded into the summary, so the write path knows the unsummarised total cheaply. */
    summarizedTokens: integer('summarized_tokens').notNull().default(0),
    version: integer('version').notNull().default(0),
    updatedAt: updated(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.sessionId] }), sessionFk(t, 'context_windows_session_fk')],
);

export const turns = pgTable(
  'turns',
  {
    id: uuid('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    sessionId: text('session_id').notNull(),
    sequence: integer('sequence').notNull(),
    type: text('type', { enum: ['history', 'memory', 'tool'] }).notNull(),
    role: text('role', { enum: ['user', 'assistant', 'tool', 'system'] }).notNull(),
    name: text('name'),
    content: text('content').notNull(),
    tokenCount: integer('token_count').notNull(),
    importance: real('importance').notNull().default(0.5),
    externalId: text('external_id'),
    toolCallId: text('tool_call_id'),
    /** Tool calls an assistant turn made: [{ id, name, arguments }]. */
    toolCalls: jsonb('tool_calls').$type<{ id: string; name: string; arguments: string }[]>(),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    /** The history of the session's user with its agent (user_histories.id), and the turn's place in it. */
    historyId: uuid('history_id'),
    historySequence: integer('history_sequence'),
    createdAt: created(),
    tsv: tsvector('tsv')
      .notNull()
      .generatedAlwaysAs(sql`to_tsvector('english', coalesce("name", '') || ' ' || "content")`),
  },
  (t) => [
    uniqueIndex('turns_session_sequence_idx').on(t.tenantId, t.sessionId, t.sequence),
    uniqueIndex('turns_session_external_idx')
      .on(t.tenantId, t.sessionId, t.externalId)
      .where(sql`${t.externalId} IS NOT NULL`),
    // Structural candidates (system turns, the newest turns of a role) read a session by role in sequence order.
    index('turns_session_role_idx').on(t.tenantId, t.sessionId, t.role, t.sequence),
    // The newest tool calls of a session (tool findings pair results with their calls), however sparse they are.
    index('turns_session_calls_idx').on(t.tenantId, t.sessionId, t.sequence).where(sql`${t.toolCalls} IS NOT NULL`),
    // No pending list: queued entries are scanned on every search and make the planner avoid the index.
    index('turns_tsv_idx').using('gin', t.tsv).with({ fastupdate: false }),
    // A user's history read as one session: by history sequence, and its system turns (constraints) apart.
    uniqueIndex('turns_history_sequence_idx')
      .on(t.tenantId, t.historyId, t.historySequence)
      .where(sql`${t.historyId} IS NOT NULL`),
    index('turns_history_system_idx')
      .on(t.tenantId, t.historyId, t.historySequence)
      .where(sql`${t.historyId} IS NOT NULL AND ${t.role} = 'system'`),
    sessionFk(t, 'turns_session_fk'),
  ],
);

/**
 * Sentence vectors of conversational turns from a remote embedding model (ADR 0012), written by a background job and
 * read by the query path to seed candidates by meaning. int8-quantised with one scale per vector and kept as base64
 * text, which every driver (PGlite, node-postgres, Neon over HTTP) returns the same way. Keyed by model: a new
 * model starts a new set.
 */
export const turnVectors = pgTable(
  'turn_vectors',
  {
    tenantId: text('tenant_id').notNull(),
    sessionId: text('session_id').notNull(),
    model: text('model').notNull(),
    sequence: integer('sequence').notNull(),
    scale: real('scale').notNull(),
    vector: text('vector').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.sessionId, t.model, t.sequence] }),
    sessionFk(t, 'turn_vectors_session_fk'),
  ],
);

export const toolChains = pgTable(
  'tool_chains',
  {
    tenantId: text('tenant_id').notNull(),
    sessionId: text('session_id').notNull(),
    id: text('id').notNull(),
    name: text('name'),
    status: text('status', { enum: ['open', 'done', 'failed'] })
      .notNull()
      .default('open'),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), sessionFk(t, 'tool_chains_session_fk')],
);

export const toolResults = pgTable(
  'tool_results',
  {
    tenantId: text('tenant_id').notNull(),
    sessionId: text('session_id').notNull(),
    chainId: text('chain_id').notNull(),
    stepId: text('step_id').notNull(),
    position: integer('position').notNull(),
    toolName: text('tool_name').notNull(),
    arguments: jsonb('arguments').$type<unknown>(),
    status: text('status', { enum: ['pending', 'ok', 'error'] })
      .notNull()
      .default('pending'),
    result: text('result'),
    resultTokenCount: integer('result_token_count').notNull().default(0),
    /** Key fields of the result (ids, numbers, statuses, errors) kept when the full output does not fit. */
    summary: text('summary'),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.chainId, t.stepId] }),
    foreignKey({
      name: 'tool_results_chain_fk',
      columns: [t.tenantId, t.chainId],
      foreignColumns: [toolChains.tenantId, toolChains.id],
    }).onDelete('cascade'),
    sessionFk(t, 'tool_results_session_fk'),
  ],
);

export const memories = pgTable(
  'memories',
  {
    id: uuid('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    /** Ownership: private to a user, public within an agent's groups, or tied to a tool call. */
    scope: text('scope', { enum: ['user', 'agent', 'tool'] }).notNull(),
    userId: text('user_id'),
    agentId: text('agent_id'),
    sharedGroupIds: text('shared_group_ids').array().notNull().default(sql`'{}'::text[]`),
    /** The session it was learnt in; deleting that session deletes the memory. */
    sessionId: text('session_id'),
    toolCallId: text('tool_call_id'),
    kind: text('kind', { enum: ['fact', 'preference', 'constraint', 'task', 'note'] })
      .notNull()
      .default('fact'),
    content: text('content').notNull(),
    tokenCount: integer('token_count').notNull(),
    importance: real('importance').notNull().default(0.5),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    /** `written` by a caller (API, MCP, events), or `learned` from a session's turns by the background job. */
    origin: text('origin', { enum: ['written', 'learned'] })
      .notNull()
      .default('written'),
    /** For a learned memory: the sequences, in `session_id`, of the turns it was learned from. */
    sourceSequences: integer('source_sequences').array(),
    /** When it became true (a learned memory: its newest source turn's time) and when it stopped being current. */
    validFrom: timestamp('valid_from', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    validTo: timestamp('valid_to', { withTimezone: true, mode: 'string' }),
    /** The memory that replaced it; it stays stored, with `valid_to` set, for audit. */
    supersededBy: uuid('superseded_by').references((): AnyPgColumn => memories.id, { onDelete: 'set null' }),
    /** The session whose turns ended its validity; deleting that session makes it current again. */
    endedInSession: text('ended_in_session'),
    createdAt: created(),
    updatedAt: updated(),
    tsv: tsvector('tsv').notNull().generatedAlwaysAs(sql`to_tsvector('english', "content")`),
  },
  (t) => [
    index('memories_owner_idx').on(t.tenantId, t.scope, t.userId, t.agentId),
    index('memories_session_idx').on(t.tenantId, t.sessionId),
    index('memories_ended_idx').on(t.tenantId, t.endedInSession).where(sql`${t.endedInSession} IS NOT NULL`),
    index('memories_tsv_idx').using('gin', t.tsv),
    foreignKey({
      name: 'memories_session_fk',
      columns: [t.tenantId, t.sessionId],
      foreignColumns: [sessions.tenantId, sessions.id],
    }).onDelete('cascade'),
  ],
);

export const compactions = pgTable(
  'compactions',
  {
    id: uuid('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    sessionId: text('session_id').notNull(),
    strategy: text('strategy').notNull(),
    /** Turns folded in, as an inclusive sequence range; they remain stored, so a rebuild can redo it. */
    fromSequence: integer('from_sequence').notNull(),
    throughSequence: integer('through_sequence').notNull(),
    turnCount: integer('turn_count').notNull(),
    tokensBefore: integer('tokens_before').notNull(),
    tokensAfter: integer('tokens_after').notNull(),
    output: text('output').notNull(),
    model: text('model'),
    reason: text('reason').notNull(),
    durationMs: real('duration_ms').notNull().default(0),
    createdAt: created(),
  },
  (t) => [
    index('compactions_session_idx').on(t.tenantId, t.sessionId, t.createdAt),
    sessionFk(t, 'compactions_session_fk'),
  ],
);

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    tenantId: text('tenant_id').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    sessionId: text('session_id').notNull(),
    response: jsonb('response').$type<unknown>().notNull(),
    createdAt: created(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] }), sessionFk(t, 'idempotency_keys_session_fk')],
);

/** An agent's task flow: the model calls it makes in order, each with its own context recipe. */
export const taskFlows = pgTable(
  'task_flows',
  {
    tenantId: text('tenant_id').notNull(),
    agentId: text('agent_id').notNull(),
    id: text('id').notNull(),
    name: text('name'),
    /**
     * [{ id, model, template, budget_tokens, reserve_tokens, query?, recent_turns?, section_weights? }] in call order.
     */
    modelCalls: jsonb('model_calls').$type<unknown[]>().notNull(),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.agentId, t.id] }),
    foreignKey({
      name: 'task_flows_agent_fk',
      columns: [t.tenantId, t.agentId],
      foreignColumns: [agents.tenantId, agents.id],
    }).onDelete('cascade'),
  ],
);

/**
 * One QueryContext and what the agent did with it (ADR 0007): the service's steps first, then the agent's, in
 * order. Bounded: at most `max_trace_steps` steps with truncated previews; old traces are swept.
 */
export const traces = pgTable(
  'traces',
  {
    tenantId: text('tenant_id').notNull(),
    requestId: text('request_id').notNull(),
    sessionId: text('session_id').notNull(),
    agentId: text('agent_id'),
    modelCallId: text('model_call_id'),
    strategy: text('strategy').notNull(),
    variant: text('variant').notNull(),
    source: text('source').notNull(),
    tokenCount: integer('token_count').notNull(),
    overflow: boolean('overflow').notNull(),
    steps: jsonb('steps').$type<unknown[]>().notNull(),
    createdAt: created(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.requestId] }),
    index('traces_created_idx').on(t.createdAt),
    sessionFk(t, 'traces_session_fk'),
  ],
);

/** Online evaluation events (ADR 0007), attributed to the strategy and variant of the context they judge. */
export const evaluations = pgTable(
  'evaluations',
  {
    id: uuid('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    requestId: text('request_id').notNull(),
    sessionId: text('session_id').notNull(),
    agentId: text('agent_id'),
    strategy: text('strategy').notNull(),
    variant: text('variant').notNull(),
    overallScore: real('overall_score').notNull(),
    taskSuccess: boolean('task_success'),
    validationBlocked: boolean('validation_blocked'),
    toolErrors: integer('tool_errors').notNull().default(0),
    tokenCount: integer('token_count').notNull(),
    overflow: boolean('overflow').notNull(),
    createdAt: created(),
  },
  (t) => [
    index('evaluations_strategy_idx').on(t.tenantId, t.agentId, t.strategy, t.variant),
    sessionFk(t, 'evaluations_session_fk'),
  ],
);
