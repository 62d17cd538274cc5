// LangChain.js chat message history backed by the engine: messages are stored as turns; with `budgetTokens`,
// getMessages() answers the engine's context within that budget instead of the whole history.
import { BaseListChatMessageHistory } from '@langchain/core/chat_history';
import { AIMessage, type BaseMessage, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import type { ContextClient, QueryContextRequest, WriteTurnsRequest } from '../index.js';

type Turn = WriteTurnsRequest['turns'][number];

export interface ContextEngineChatMessageHistoryOptions {
  client: ContextClient;
  sessionId: string;
  /** When set, getMessages() returns the context for the next call within this many tokens. */
  budgetTokens?: number;
  /** Further QueryContext options (query, template, history_scope, …) for getMessages() with a budget. */
  context?: Omit<QueryContextRequest, 'budget_tokens'>;
  userId?: string;
  agentId?: string;
}

const textOf = (content: BaseMessage['content']): string =>
  typeof content === 'string'
    ? content
    : content
        .flatMap((part) => (typeof part === 'object' && part.type === 'text' ? [String(part.text)] : []))
        .join('\n');

function toTurn(message: BaseMessage): Turn {
  const content = textOf(message.content);
  if (ToolMessage.isInstance(message)) return { role: 'tool', content, tool_call_id: message.tool_call_id };
  if (AIMessage.isInstance(message)) {
    const calls = (message.tool_calls ?? []).map((c, i) => ({
      id: c.id ?? `call-${i}`,
      name: c.name,
      arguments: c.args,
    }));
    return { role: 'assistant', content, ...(calls.length ? { tool_calls: calls } : {}) };
  }
  return { role: SystemMessage.isInstance(message) ? 'system' : 'user', content };
}

export class ContextEngineChatMessageHistory extends BaseListChatMessageHistory {
  lc_namespace = ['context_engine', 'chat_history'];

  constructor(private readonly options: ContextEngineChatMessageHistoryOptions) {
    super();
  }

  async getMessages(): Promise<BaseMessage[]> {
    const { client, sessionId, budgetTokens } = this.options;
    try {
      if (budgetTokens !== undefined) {
        const ctx = await client.queryContext(sessionId, { ...this.options.context, budget_tokens: budgetTokens });
        return ctx.rendered.messages.map((m) =>
          m.role === 'system' ? new SystemMessage(m.content) : new HumanMessage(m.content),
        );
      }
      const messages: BaseMessage[] = [];
      for await (const turn of client.allTurns(sessionId)) {
        if (turn.role === 'user') messages.push(new HumanMessage(turn.content));
        else if (turn.role === 'system') messages.push(new SystemMessage(turn.content));
        else if (turn.role === 'tool')
          messages.push(new ToolMessage({ content: turn.content, tool_call_id: turn.tool_call_id ?? '' }));
        else
          messages.push(
            new AIMessage({
              content: turn.content,
              tool_calls: (turn.tool_calls ?? []).map((c) => ({
                id: c.id,
                name: c.name,
                args: JSON.parse(c.arguments || '{}'),
              })),
            }),
          );
      }
      return messages;
    } catch (err) {
      if ((err as { code?: string }).code === 'NOT_FOUND') return [];
      throw err;
    }
  }

  async addMessage(message: BaseMessage): Promise<void> {
    await this.addMessages([message]);
  }

  override async addMessages(messages: BaseMessage[]): Promise<void> {
    if (!messages.length) return;
    const { userId, agentId } = this.options;
    await this.options.client.writeTurns(this.options.sessionId, {
      ...(userId ? { user_id: userId } : {}),
      ...(agentId ? { agent_id: agentId } : {}),
      turns: messages.map(toTurn),
    });
  }

  override async clear(): Promise<void> {
    await this.options.client.deleteSession(this.options.sessionId).catch((err: { code?: string }) => {
      if (err.code !== 'NOT_FOUND') throw err;
    });
  }
}
