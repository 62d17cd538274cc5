import { z } from '@hono/zod-openapi';
import { limits } from '../config/tuning.js';
import { cursorParam, Id, Metadata, Page, PageLimit, PgTimestamp } from './common.js';

export const MemoryScope = z.enum(['user', 'agent', 'tool']);
export const MemoryKind = z.enum(['fact', 'preference', 'constraint', 'task', 'note']);
/** `written` by a caller (API, MCP, events); `learned` from a session's turns by the background job. */
export const MemoryOrigin = z.enum(['written', 'learned']);

export const CreateMemoryBody = z
  .strictObject({
    scope: MemoryScope.openapi({
      description:
        '`user`: private to user_id; `agent`: public to agent_id and its shared groups; `tool`: tied to a tool call.',
    }),
    content: z.string().min(1).max(20_000),
    kind: MemoryKind.default('fact'),
    user_id: Id.optional(),
    agent_id: Id.optional(),
    session_id: Id.optional(),
    tool_call_id: z.string().min(1).max(limits.idLength).optional(),
    shared_group_ids: z.array(Id).max(32).default([]),
    importance: z.number().min(0).max(1).default(0.5),
    metadata: Metadata.default({}),
  })
  .superRefine((m, ctx) => {
    if (m.scope === 'user' && !m.user_id)
      ctx.addIssue({ code: 'custom', path: ['user_id'], message: 'required for scope "user"' });
    if (m.scope === 'agent' && !m.agent_id)
      ctx.addIssue({ code: 'custom', path: ['agent_id'], message: 'required for scope "agent"' });
    if (m.scope === 'tool' && !(m.session_id && m.tool_call_id))
      ctx.addIssue({
        code: 'custom',
        path: ['tool_call_id'],
        message: 'session_id and tool_call_id are required for scope "tool"',
      });
  })
  .openapi('CreateMemoryRequest', {
    example: { scope: 'user', user_id: 'u-ada', kind: 'preference', content: 'Prefers apartments near Alfama.' },
  });
export type CreateMemoryBody = z.infer<typeof CreateMemoryBody>;

export const Memory = z
  .object({
    id: z.string(),
    scope: MemoryScope,
    kind: MemoryKind,
    content: z.string(),
    user_id: z.string().nullable(),
    agent_id: z.string().nullable(),
    session_id: z.string().nullable(),
    tool_call_id: z.string().nullable(),
    shared_group_ids: z.array(z.string()),
    importance: z.number(),
    token_count: z.number().int(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    origin: MemoryOrigin,
    source_sequences: z.array(z.number().int()).nullable().openapi({
      description: 'A learned memory: the sequences, in `session_id`, of the turns it was learned from.',
    }),
    valid_from: z
      .string()
      .openapi({ description: 'When it became true (a learned memory: when its newest source turn was said).' }),
    valid_to: z
      .string()
      .nullable()
      .openapi({ description: 'When it stopped being current (superseded or no longer true); null while current.' }),
    superseded_by: z.string().nullable().openapi({ description: 'The memory that replaced it.' }),
    ended_in_session: z.string().nullable().openapi({ description: 'The session whose turns ended its validity.' }),
    score: z.number().optional(),
  })
  .openapi('Memory');
export type Memory = z.infer<typeof Memory>;

export const MemoryFilter = z.strictObject({
  user_id: Id.optional(),
  agent_id: Id.optional(),
  session_id: Id.optional(),
  scope: MemoryScope.optional(),
  kind: MemoryKind.optional(),
  origin: MemoryOrigin.optional(),
  include_superseded: z
    .union([z.boolean(), z.enum(['true', 'false'])])
    .default(false)
    .transform((v) => v === true || v === 'true')
    .openapi({
      description: 'Also memories no longer current (superseded or closed, `valid_to` set); default: current only.',
    }),
});

/** The page cursor of a memory list: the created_at (as PostgreSQL prints it) and id of the page's last memory. */
export const MemoryCursor = z.tuple([PgTimestamp, z.uuid()]);

export const ListMemoriesQuery = MemoryFilter.extend({
  limit: PageLimit,
  cursor: cursorParam(MemoryCursor),
});
export type ListMemoriesQuery = z.infer<typeof ListMemoriesQuery>;

export const MemoryList = Page.extend({ memories: z.array(Memory) }).openapi('MemoryList');

export const SearchMemoriesBody = MemoryFilter.extend({
  query: z.string().min(1).max(8_000),
  limit: z.number().int().min(1).max(limits.searchResultsMax).default(10),
}).openapi('SearchMemoriesRequest');
export type SearchMemoriesBody = z.infer<typeof SearchMemoriesBody>;
