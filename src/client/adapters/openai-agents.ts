// OpenAI Agents SDK `Session` backed by the engine: items are stored as turns (messages, function calls and their
// results); with `budgetTokens`, getItems() answers the engine's context for the next call instead of the history.
import type { AgentInputItem, Session } from '@openai/agents';
import type { ContextClient, QueryContextRequest, TurnPage, WriteTurnsRequest } from '../index.js';

type Turn = WriteTurnsRequest['turns'][number];
type StoredTurn = TurnPage['turns'][number];

export interface ContextEngineSessionOptions {
  client: ContextClient;
  sessionId: string;
  /** When set, getItems() without a limit returns the context for the next call within this many tokens. */
  budgetTokens?: number;
  context?: Omit<QueryContextRequest, 'budget_tokens'>;
  userId?: string;
  agentId?: string;
}

const textOf = (content: unknown): string =>
  typeof content === 'string'
    ? content
    : Array.isArray(content)
      ? content.flatMap((p: { text?: unknown }) => (typeof p?.text === 'string' ? [p.text] : [])).join('\n')
      : '';

/** Messages, function calls and function results become turns; other items (reasoning, hosted tools) are not kept. */
function toTurns(items: AgentInputItem[]): Turn[] {
  const turns: Turn[] = [];
  for (const item of items) {
    if (item.type === 'function_call')
      turns.push({
        role: 'assistant',
        content: '',
        tool_calls: [{ id: item.callId, name: item.name, arguments: item.arguments }],
      });
    else if (item.type === 'function_call_result')
      turns.push({
        role: 'tool',
        tool_call_id: item.callId,
        name: item.name,
        content: textOf(item.output) || String(item.output ?? ''),
      });
    else if ((item.type === undefined || item.type === 'message') && 'role' in item) {
      const content = textOf(item.content);
      if (content.trim()) turns.push({ role: item.role, content });
    }
  }
  return turns;
}

function toItems(turns: StoredTurn[]): AgentInputItem[] {
  const items: AgentInputItem[] = [];
  for (const t of turns) {
    if (t.role === 'assistant' && t.tool_calls?.length) {
      if (t.content.trim())
        items.push({ role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: t.content }] });
      for (const c of t.tool_calls)
        items.push({ type: 'function_call', callId: c.id, name: c.name, arguments: c.arguments });
    } else if (t.role === 'tool')
      items.push({
        type: 'function_call_result',
        callId: t.tool_call_id ?? '',
        name: t.name ?? '',
        status: 'completed',
        output: t.content,
      });
    else if (t.role === 'assistant')
      items.push({ role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: t.content }] });
    else items.push({ role: t.role, content: t.content });
  }
  return items;
}

export class ContextEngineSession implements Session {
  constructor(private readonly options: ContextEngineSessionOptions) {}

  async getSessionId(): Promise<string> {
    return this.options.sessionId;
  }

  async getItems(limit?: number): Promise<AgentInputItem[]> {
    const { client, sessionId, budgetTokens } = this.options;
    try {
      if (budgetTokens !== undefined && limit === undefined) {
        const ctx = await client.queryContext(sessionId, { ...this.options.context, budget_tokens: budgetTokens });
        return ctx.rendered.messages.map((m) => ({ role: m.role, content: m.content }));
      }
      const items = toItems(await this.turns());
      return limit === undefined ? items : items.slice(-limit);
    } catch (err) {
      if ((err as { code?: string }).code === 'NOT_FOUND') return [];
      throw err;
    }
  }

  async addItems(items: AgentInputItem[]): Promise<void> {
    const turns = toTurns(items);
    const { userId, agentId } = this.options;
    const owner = { ...(userId ? { user_id: userId } : {}), ...(agentId ? { agent_id: agentId } : {}) };
    for (let i = 0; i < turns.length; i += 500)
      await this.options.client.writeTurns(this.options.sessionId, { ...owner, turns: turns.slice(i, i + 500) });
  }

  /**
   * Turns are append-only in the engine: the session is written again without its last turn (a new session
   * version; memories learned from the removed turn stay).
   */
  async popItem(): Promise<AgentInputItem | undefined> {
    const turns = await this.turns().catch((err: { code?: string }) => {
      if (err.code === 'NOT_FOUND') return [];
      throw err;
    });
    const last = turns.at(-1);
    if (!last) return undefined;
    const session = await this.options.client.getSession(this.options.sessionId);
    await this.clearSession();
    const kept: Turn[] = turns.slice(0, -1).map((t) => ({
      role: t.role,
      content: t.content,
      ...(t.name ? { name: t.name } : {}),
      ...(t.tool_call_id ? { tool_call_id: t.tool_call_id } : {}),
      ...(t.tool_calls?.length ? { tool_calls: t.tool_calls } : {}),
      created_at: t.created_at,
    }));
    const owner = {
      ...(session.user_id ? { user_id: session.user_id } : {}),
      ...(session.agent_id ? { agent_id: session.agent_id } : {}),
    };
    for (let i = 0; i < kept.length; i += 500)
      await this.options.client.writeTurns(this.options.sessionId, { ...owner, turns: kept.slice(i, i + 500) });
    return toItems([last]).at(-1);
  }

  async clearSession(): Promise<void> {
    await this.options.client.deleteSession(this.options.sessionId).catch((err: { code?: string }) => {
      if (err.code !== 'NOT_FOUND') throw err;
    });
  }

  private async turns(): Promise<StoredTurn[]> {
    const turns: StoredTurn[] = [];
    for await (const turn of this.options.client.allTurns(this.options.sessionId)) turns.push(turn);
    return turns;
  }
}
