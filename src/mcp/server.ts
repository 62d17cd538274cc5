// The service as MCP tools: the verbs an agent needs inside its own loop, over the same services and zod schemas
// the HTTP API uses. A server is built per tenant context; its key's scopes decide which tools may run.
import pkg from '../../package.json' with { type: 'json' };
import { z } from '@hono/zod-openapi';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ApiError, fromStorageError } from '../errors.js';
import { checkJsonInput } from '../http/middleware/input-guard.js';
import type { Ctx } from '../ports.js';
import { Id } from '../schemas/common.js';
import { QueryContextBody } from '../schemas/context.js';
import { CreateMemoryBody, ListMemoriesQuery, SearchMemoriesBody } from '../schemas/memories.js';
import { SearchHistoryBody } from '../schemas/sessions.js';
import { WriteTurnsBody } from '../schemas/turns.js';
import type { Scope } from '../services/auth.js';
import { deleteSession } from '../services/delete-context.js';
import { createMemory, deleteMemory, listMemories, searchMemories } from '../services/memories.js';
import { queryContext } from '../services/query-context.js';
import { searchHistory } from '../services/session-reads.js';
import { writeTurns } from '../services/write-turns.js';

export const SERVER_INFO = { name: 'context-engine', version: pkg.version } as const;

const sessionId = Id.describe('The session (conversation) id, as in /v1/sessions/{session_id}.');

const json = (value: unknown): CallToolResult => ({
  content: [{ type: 'text', text: JSON.stringify(value, null, 2) }],
});

const toolError = (text: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text }] });

/**
 * Runs a tool body with the scope check and the input rule every HTTP body meets, and turns errors into tool errors
 * the model can read. Any other error is logged as a summary and answered without its message, which for a query
 * error holds the SQL parameters (the SDK would send that message to the client).
 */
async function run(
  ctx: Ctx,
  scopes: readonly Scope[],
  need: Scope,
  args: unknown,
  body: () => Promise<CallToolResult>,
): Promise<CallToolResult> {
  if (!scopes.includes(need) && !scopes.includes('admin'))
    return toolError(`FORBIDDEN: this key lacks the "${need}" scope`);
  try {
    checkJsonInput(args);
    return await body();
  } catch (err) {
    if (err instanceof ApiError) return toolError(`${err.code}: ${err.message}`);
    const mapped = fromStorageError(err);
    if (mapped) {
      ctx.logger.warn('storage error', { code: mapped.code, error: err });
      return toolError(`${mapped.code}: ${mapped.message}`);
    }
    ctx.logger.error('unhandled error', { error: err, stack: (err as Error).stack });
    return toolError(`INTERNAL: internal error; request id ${ctx.requestId} identifies it in the logs`);
  }
}

export function createMcpServer(ctx: Ctx, scopes: readonly Scope[]): McpServer {
  const server = new McpServer(SERVER_INFO, {
    instructions:
      'A context engine: write each conversation turn with write_turns, and before each model call ask query_context ' +
      'for the best context that fits your token budget. Memories outlive sessions.',
  });

  server.registerTool(
    'write_turns',
    {
      title: 'Write turns',
      description:
        'Append turns to a session in order (the session is created on its first write). Give idempotency_key to make ' +
        'a retry safe; a turn whose external_id is already stored is reported as a duplicate.',
      inputSchema: WriteTurnsBody.omit({ return_context: true }).extend({
        session_id: sessionId,
        idempotency_key: z.string().min(1).max(255).optional().describe('Same key, same request: stored once.'),
      }),
      annotations: { destructiveHint: false, idempotentHint: false },
    },
    (args) =>
      run(ctx, scopes, 'write', args, async () => {
        const { session_id, idempotency_key, ...body } = args;
        const { replayed, ...result } = await writeTurns(ctx, {
          sessionId: session_id,
          body,
          idempotencyKey: idempotency_key,
        });
        return json({ ...result, replayed });
      }),
  );

  server.registerTool(
    'query_context',
    {
      title: 'Query context',
      description:
        'The best context for the next model call within budget_tokens: task anchor, constraints, relevant history, ' +
        'memory and tool findings. The first content item is the rendered context to put in the prompt; the second ' +
        'is the budget report (what each section was given, kept and dropped).',
      inputSchema: QueryContextBody.safeExtend({ session_id: sessionId }),
      annotations: { readOnlyHint: true },
    },
    (args) =>
      run(ctx, scopes, 'read', args, async () => {
        const { session_id, ...body } = args;
        const answer = await queryContext(ctx, { sessionId: session_id, body });
        return {
          content: [
            { type: 'text', text: answer.rendered.text },
            {
              type: 'text',
              text: JSON.stringify(
                {
                  token_count: answer.token_count,
                  cached: answer.cached,
                  budget_report: answer.envelope.budget_report,
                },
                null,
                2,
              ),
            },
          ],
        };
      }),
  );

  server.registerTool(
    'search_history',
    {
      title: 'Search history',
      description: 'Full-text search over every stored turn of a session, best match first.',
      inputSchema: SearchHistoryBody.extend({ session_id: sessionId }),
      annotations: { readOnlyHint: true },
    },
    (args) =>
      run(ctx, scopes, 'read', args, async () => {
        const { session_id, ...body } = args;
        return json(await searchHistory(ctx, session_id, body));
      }),
  );

  server.registerTool(
    'create_memory',
    {
      title: 'Create memory',
      description:
        'Store a fact, preference, constraint, task or note that outlives the session. scope "user" needs user_id, ' +
        '"agent" needs agent_id, "tool" needs session_id and tool_call_id.',
      inputSchema: CreateMemoryBody,
      annotations: { destructiveHint: false },
    },
    (args) => run(ctx, scopes, 'write', args, async () => json(await createMemory(ctx, args))),
  );

  server.registerTool(
    'list_memories',
    {
      title: 'List memories',
      description:
        'Memories newest first, filtered by owner, session, scope, kind or origin (written or learned); current ones ' +
        'only unless include_superseded is true; pass next_cursor as cursor for more.',
      inputSchema: ListMemoriesQuery,
      annotations: { readOnlyHint: true },
    },
    (args) => run(ctx, scopes, 'read', args, async () => json(await listMemories(ctx, args))),
  );

  server.registerTool(
    'search_memories',
    {
      title: 'Search memories',
      description: 'Memories ranked by relevance to a query, optionally filtered by owner, session, scope or kind.',
      inputSchema: SearchMemoriesBody,
      annotations: { readOnlyHint: true },
    },
    (args) => run(ctx, scopes, 'read', args, async () => json({ memories: await searchMemories(ctx, args) })),
  );

  server.registerTool(
    'delete_memory',
    {
      title: 'Delete memory',
      description: 'Delete one memory by id.',
      inputSchema: z.strictObject({ memory_id: z.uuid() }),
      annotations: { destructiveHint: true, idempotentHint: true },
    },
    (args) =>
      run(ctx, scopes, 'write', args, async () => {
        await deleteMemory(ctx, args.memory_id);
        return json({ deleted: args.memory_id });
      }),
  );

  server.registerTool(
    'delete_session',
    {
      title: 'Delete session',
      description:
        'Delete a session and everything derived from it: turns, window, tool chains, audit, its memories, caches.',
      inputSchema: z.strictObject({ session_id: sessionId }),
      annotations: { destructiveHint: true, idempotentHint: true },
    },
    (args) =>
      run(ctx, scopes, 'write', args, async () => {
        await deleteSession(ctx, args.session_id);
        return json({ deleted: args.session_id });
      }),
  );

  return server;
}
