// The owners of sessions and memories as lists: the users and the agents a tenant has written for or registered.
import { z } from '@hono/zod-openapi';
import { cursorParam, Id, Page, PageLimit, PgTimestamp } from './common.js';

/** The page cursor of a user or agent list: the created_at (as PostgreSQL prints it) and id of the page's last row. */
export const OwnerCursor = z.tuple([PgTimestamp, Id]);

export const ListOwnersQuery = z.strictObject({ limit: PageLimit, cursor: cursorParam(OwnerCursor) });
export type ListOwnersQuery = z.infer<typeof ListOwnersQuery>;

export const UserSummary = z
  .object({
    user_id: z.string(),
    session_count: z.number().int(),
    created_at: z.string().openapi({ description: "When the user's first session was written." }),
  })
  .openapi('UserSummary');
export type UserSummary = z.infer<typeof UserSummary>;

export const UserList = Page.extend({ users: z.array(UserSummary) }).openapi('UserList');

export const AgentSummary = z
  .object({
    agent_id: z.string(),
    name: z.string().nullable(),
    description: z.string().nullable(),
    llm_provider: z.string().nullable(),
    session_count: z.number().int(),
    created_at: z.string().openapi({ description: 'When the agent was registered or first named by a write.' }),
    updated_at: z.string(),
  })
  .openapi('AgentSummary');
export type AgentSummary = z.infer<typeof AgentSummary>;

export const AgentList = Page.extend({ agents: z.array(AgentSummary) }).openapi('AgentList');
