// Typed client for the HTTP API; runs wherever `fetch` does and imports only types from the server (request types are
// the schemas' inputs, response types their outputs), so it cannot drift from what the routes validate.
import type { z } from 'zod';
import type { ErrorBody } from '../errors.js';
import type { CreateKeyBody, CreatedKey, KeyView } from '../schemas/admin.js';
import type { ContextRequest, QueryContextResponse } from '../schemas/context.js';
import type { EventAccepted, EventBody } from '../schemas/events.js';
import type {
  Agent,
  AgentBody,
  Evaluation,
  EvaluationBody,
  StrategyReport,
  TaskFlow,
  TaskFlowBody,
  Trace,
  TraceStepsAppended,
  TraceStepsBody,
} from '../schemas/flows.js';
import type { Health } from '../schemas/health.js';
import type {
  CreateMemoryBody,
  ListMemoriesQuery,
  Memory,
  MemoryList,
  SearchMemoriesBody,
} from '../schemas/memories.js';
import type { AgentList, ListOwnersQuery, UserList } from '../schemas/owners.js';
import type {
  AgentContext,
  CompactionList,
  ListSessionsQuery,
  SessionList,
  ListTurnsQuery,
  RebuildAccepted,
  RebuildBody,
  SearchHistoryBody,
  SearchHistoryResponse,
  SessionView,
  TurnList,
} from '../schemas/sessions.js';
import type { RegisterToolChainBody, ToolChain, UpdateToolResultBody } from '../schemas/tools.js';
import type { WriteTurnsBody, WriteTurnsResponse } from '../schemas/turns.js';

type In<T extends z.ZodType> = z.input<T>;
type Out<T extends z.ZodType> = z.infer<T>;

export type WriteTurnsRequest = In<typeof WriteTurnsBody>;
export type WriteTurnsResult = Out<typeof WriteTurnsResponse> & {
  /** True when the server answered from an earlier request with the same Idempotency-Key. */
  replayed: boolean;
};
export type QueryContextRequest = In<typeof ContextRequest>;
export type QueryContextResult = Out<typeof QueryContextResponse>;
export type RebuildRequest = In<typeof RebuildBody>;
export type RebuildResult = Out<typeof RebuildAccepted>;
export type Session = Out<typeof SessionView>;
export type ListSessionsRequest = Partial<Out<typeof ListSessionsQuery>>;
export type SessionPage = Out<typeof SessionList>;
export type ListOwnersRequest = Partial<Out<typeof ListOwnersQuery>>;
export type UserPage = Out<typeof UserList>;
export type AgentPage = Out<typeof AgentList>;
// Query parameters are typed by what the server reads (numbers), not by the strings a URL carries.
export type ListTurnsRequest = Partial<Out<typeof ListTurnsQuery>>;
export type TurnPage = Out<typeof TurnList>;
export type SearchHistoryRequest = In<typeof SearchHistoryBody>;
export type SearchHistoryResult = Out<typeof SearchHistoryResponse>;
export type Compactions = Out<typeof CompactionList>;
export type RegisterToolChainRequest = In<typeof RegisterToolChainBody>;
export type UpdateToolResultRequest = In<typeof UpdateToolResultBody>;
export type ToolChainResult = Out<typeof ToolChain>;
export type CreateMemoryRequest = In<typeof CreateMemoryBody>;
export type ListMemoriesRequest = Partial<Out<typeof ListMemoriesQuery>>;
export type SearchMemoriesRequest = In<typeof SearchMemoriesBody>;
export type MemoryResult = Out<typeof Memory>;
export type MemoryPage = Out<typeof MemoryList>;
export type AgentContextResult = Out<typeof AgentContext>;
export type EventRequest = In<typeof EventBody>;
export type EventResult = Out<typeof EventAccepted>;
export type HealthResult = Out<typeof Health>;
export type CreateKeyRequest = In<typeof CreateKeyBody>;
export type CreatedKeyResult = Out<typeof CreatedKey>;
export type ApiKeyResult = Out<typeof KeyView>;
export type ErrorCode = Out<typeof ErrorBody>['error']['code'];
export type RegisterAgentRequest = In<typeof AgentBody>;
export type AgentResult = Out<typeof Agent>;
export type TaskFlowRequest = In<typeof TaskFlowBody>;
export type TaskFlowResult = Out<typeof TaskFlow>;
export type TraceResult = Out<typeof Trace>;
export type TraceStepsRequest = In<typeof TraceStepsBody>;
export type TraceStepsResult = Out<typeof TraceStepsAppended>;
export type EvaluationRequest = In<typeof EvaluationBody>;
export type EvaluationResult = Out<typeof Evaluation>;
export type StrategyReportResult = Out<typeof StrategyReport>;

export type FetchLike = (url: string, init: RequestInit) => Response | Promise<Response>;

export interface ContextClientOptions {
  /** Where the service listens, e.g. http://127.0.0.1:8787. */
  baseUrl: string;
  /** A tenant's API key (or the admin key for `client.admin`). */
  apiKey: string;
  /** Replaces the global fetch: a proxy, retries, or `app.request` in tests. */
  fetch?: FetchLike;
  /** Sent with every request. */
  headers?: Record<string, string>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** A non-2xx answer. `code` is the API's error code; network failures are thrown as they come from fetch. */
export class ContextApiError extends Error {
  override readonly name = 'ContextApiError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly requestId: string | undefined,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Status → code for answers that carry no error body (a proxy's 502, say). */
const codeForStatus = (status: number): ErrorCode =>
  status === 400
    ? 'BAD_REQUEST'
    : status === 401
      ? 'UNAUTHORIZED'
      : status === 403
        ? 'FORBIDDEN'
        : status === 404
          ? 'NOT_FOUND'
          : status === 409
            ? 'CONFLICT'
            : status === 413
              ? 'PAYLOAD_TOO_LARGE'
              : status === 415
                ? 'UNSUPPORTED_MEDIA_TYPE'
                : status === 429
                  ? 'RATE_LIMITED'
                  : status === 503 || status === 502 || status === 504
                    ? 'UNAVAILABLE'
                    : 'INTERNAL';

const seg = encodeURIComponent;

function queryString(params: Record<string, string | number | boolean | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string | number | boolean] => e[1] !== undefined);
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)]))}` : '';
}

export class ContextClient {
  readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly fetchImpl: FetchLike;
  private readonly headers: Record<string, string>;

  constructor(options: ContextClientOptions) {
    if (!options.baseUrl) throw new TypeError('ContextClient: baseUrl is required');
    if (!options.apiKey) throw new TypeError('ContextClient: apiKey is required');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.fetchImpl = options.fetch ?? ((url, init) => fetch(url, init));
    this.headers = options.headers ?? {};
  }

  private async send(
    method: string,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
    opts: CallOptions = {},
  ) {
    const res = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...this.headers,
        authorization: `Bearer ${this.apiKey}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...extra,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: opts.signal,
    });
    if (!res.ok) throw await toError(res);
    return res;
  }

  private async json<T>(method: string, path: string, body?: unknown, opts?: CallOptions): Promise<T> {
    const res = await this.send(method, path, body, {}, opts);
    return (await res.json()) as T;
  }

  private async none(method: string, path: string, opts?: CallOptions): Promise<void> {
    const res = await this.send(method, path, undefined, {}, opts);
    await res.body?.cancel();
  }

  /**
   * WriteQA: appends turns in order; the session is created on its first write. With `return_context` the answer
   * also holds the context of the next model call (`context`, or `context_error` when it could not be given).
   */
  async writeTurns(
    sessionId: string,
    body: WriteTurnsRequest,
    opts: CallOptions & { idempotencyKey?: string } = {},
  ): Promise<WriteTurnsResult> {
    const res = await this.send(
      'POST',
      `/v1/sessions/${seg(sessionId)}/turns`,
      body,
      opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {},
      opts,
    );
    const result = (await res.json()) as Out<typeof WriteTurnsResponse>;
    return { ...result, replayed: res.headers.get('idempotent-replayed') === 'true' };
  }

  /** QueryContext: the best context for the next model call within `budget_tokens`. */
  queryContext(sessionId: string, body: QueryContextRequest, opts?: CallOptions): Promise<QueryContextResult> {
    return this.json('POST', `/v1/sessions/${seg(sessionId)}/context`, body, opts);
  }

  /** RebuildContext: recomputes the window summary from the stored turns, in the background. */
  rebuild(sessionId: string, body: RebuildRequest = {}, opts?: CallOptions): Promise<RebuildResult> {
    return this.json('POST', `/v1/sessions/${seg(sessionId)}/rebuild`, body, opts);
  }

  deleteSession(sessionId: string, opts?: CallOptions): Promise<void> {
    return this.none('DELETE', `/v1/sessions/${seg(sessionId)}`, opts);
  }

  deleteUser(userId: string, opts?: CallOptions): Promise<void> {
    return this.none('DELETE', `/v1/users/${seg(userId)}`, opts);
  }

  deleteAgent(agentId: string, opts?: CallOptions): Promise<void> {
    return this.none('DELETE', `/v1/agents/${seg(agentId)}`, opts);
  }

  /** One page of sessions, newest first, of a user and/or an agent; pass `next_cursor` back as `cursor`. */
  listSessions(query: ListSessionsRequest = {}, opts?: CallOptions): Promise<SessionPage> {
    return this.json('GET', `/v1/sessions${queryString(query)}`, undefined, opts);
  }

  /** One page of the users sessions were written for, newest first. */
  listUsers(query: ListOwnersRequest = {}, opts?: CallOptions): Promise<UserPage> {
    return this.json('GET', `/v1/users${queryString(query)}`, undefined, opts);
  }

  /** One page of agents, registered or named by a write, newest first. */
  listAgents(query: ListOwnersRequest = {}, opts?: CallOptions): Promise<AgentPage> {
    return this.json('GET', `/v1/agents${queryString(query)}`, undefined, opts);
  }

  getSession(sessionId: string, opts?: CallOptions): Promise<Session> {
    return this.json('GET', `/v1/sessions/${seg(sessionId)}`, undefined, opts);
  }

  /** One page of stored turns; pass `next_cursor` back as `after_sequence`. */
  listTurns(sessionId: string, query: ListTurnsRequest = {}, opts?: CallOptions): Promise<TurnPage> {
    return this.json('GET', `/v1/sessions/${seg(sessionId)}/turns${queryString(query)}`, undefined, opts);
  }

  /** Every stored turn, page by page. */
  async *allTurns(
    sessionId: string,
    opts: CallOptions & { pageSize?: number } = {},
  ): AsyncGenerator<TurnPage['turns'][number]> {
    let after = 0;
    for (;;) {
      const page = await this.listTurns(sessionId, { after_sequence: after, limit: opts.pageSize ?? 200 }, opts);
      yield* page.turns;
      if (!page.next_cursor) return;
      after = Number(page.next_cursor);
    }
  }

  searchHistory(sessionId: string, body: SearchHistoryRequest, opts?: CallOptions): Promise<SearchHistoryResult> {
    return this.json('POST', `/v1/sessions/${seg(sessionId)}/search`, body, opts);
  }

  listCompactions(sessionId: string, opts?: CallOptions): Promise<Compactions> {
    return this.json('GET', `/v1/sessions/${seg(sessionId)}/compactions`, undefined, opts);
  }

  registerToolChain(sessionId: string, body: RegisterToolChainRequest, opts?: CallOptions): Promise<ToolChainResult> {
    return this.json('POST', `/v1/sessions/${seg(sessionId)}/tool-chains`, body, opts);
  }

  updateToolResult(
    sessionId: string,
    chainId: string,
    stepId: string,
    body: UpdateToolResultRequest,
    opts?: CallOptions,
  ): Promise<ToolChainResult> {
    return this.json(
      'PUT',
      `/v1/sessions/${seg(sessionId)}/tool-chains/${seg(chainId)}/steps/${seg(stepId)}`,
      body,
      opts,
    );
  }

  readonly memories = {
    create: (body: CreateMemoryRequest, opts?: CallOptions): Promise<MemoryResult> =>
      this.json('POST', '/v1/memories', body, opts),
    list: (query: ListMemoriesRequest = {}, opts?: CallOptions): Promise<MemoryPage> =>
      this.json('GET', `/v1/memories${queryString(query)}`, undefined, opts),
    search: (body: SearchMemoriesRequest, opts?: CallOptions): Promise<{ memories: MemoryResult[] }> =>
      this.json('POST', '/v1/memories/search', body, opts),
    delete: (memoryId: string, opts?: CallOptions): Promise<void> =>
      this.none('DELETE', `/v1/memories/${seg(memoryId)}`, opts),
  };

  getAgentContext(agentId: string, opts?: CallOptions): Promise<AgentContextResult> {
    return this.json('GET', `/v1/agents/${seg(agentId)}/context`, undefined, opts);
  }

  /** Registers an agent, or replaces its name, provider and configuration. */
  registerAgent(body: RegisterAgentRequest, opts?: CallOptions): Promise<AgentResult> {
    return this.json('POST', '/v1/agents', body, opts);
  }

  /** Task flows: the ordered model calls of an agent, whose contexts are precomputed after each write. */
  readonly taskFlows = {
    put: (agentId: string, flowId: string, body: TaskFlowRequest, opts?: CallOptions): Promise<TaskFlowResult> =>
      this.json('PUT', `/v1/agents/${seg(agentId)}/task-flows/${seg(flowId)}`, body, opts),
    list: (agentId: string, opts?: CallOptions): Promise<{ task_flows: TaskFlowResult[] }> =>
      this.json('GET', `/v1/agents/${seg(agentId)}/task-flows`, undefined, opts),
    delete: (agentId: string, flowId: string, opts?: CallOptions): Promise<void> =>
      this.none('DELETE', `/v1/agents/${seg(agentId)}/task-flows/${seg(flowId)}`, opts),
  };

  /** Traces of QueryContext calls, by the answer's `request_id`. */
  readonly traces = {
    get: (requestId: string, opts?: CallOptions): Promise<TraceResult> =>
      this.json('GET', `/v1/traces/${seg(requestId)}`, undefined, opts),
    appendSteps: (requestId: string, body: TraceStepsRequest, opts?: CallOptions): Promise<TraceStepsResult> =>
      this.json('POST', `/v1/traces/${seg(requestId)}/steps`, body, opts),
  };

  /** Reports how the context of `request_id` worked out; attributed to its strategy variant. */
  recordEvaluation(body: EvaluationRequest, opts?: CallOptions): Promise<EvaluationResult> {
    return this.json('POST', '/v1/evaluations', body, opts);
  }

  strategyReport(query: { agent_id?: string; since?: string } = {}, opts?: CallOptions): Promise<StrategyReportResult> {
    return this.json('GET', `/v1/reports/strategies${queryString(query)}`, undefined, opts);
  }

  /** Delivers an event (`conversation.new`, `tool.executed`, `memory.updated`); it is processed before the answer. */
  publishEvent(body: EventRequest, opts?: CallOptions): Promise<EventResult> {
    return this.json('POST', '/v1/events', body, opts);
  }

  /** Key management; the client's apiKey must be the admin key. */
  readonly admin = {
    createKey: (body: CreateKeyRequest, opts?: CallOptions): Promise<CreatedKeyResult> =>
      this.json('POST', '/v1/admin/keys', body, opts),
    listKeys: (query: { tenant?: string } = {}, opts?: CallOptions): Promise<{ keys: ApiKeyResult[] }> =>
      this.json('GET', `/v1/admin/keys${queryString(query)}`, undefined, opts),
    revokeKey: (keyId: string, opts?: CallOptions): Promise<void> =>
      this.none('DELETE', `/v1/admin/keys/${seg(keyId)}`, opts),
  };

  /** Whether the service reaches its database. Answers `unavailable` on a 503 instead of throwing. */
  async health(opts: CallOptions = {}): Promise<HealthResult> {
    const res = await this.fetchImpl(`${this.baseUrl}/healthz`, {
      headers: { ...this.headers, accept: 'application/json' },
      signal: opts.signal,
    });
    if (res.ok || res.status === 503) return (await res.json()) as HealthResult;
    throw await toError(res);
  }
}

async function toError(res: Response): Promise<ContextApiError> {
  const text = await res.text().catch(() => '');
  let body: Partial<Out<typeof ErrorBody>> | undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const e = body?.error;
  const requestId = e?.request_id ?? res.headers.get('x-request-id') ?? undefined;
  if (e?.code) return new ContextApiError(res.status, e.code, e.message ?? e.code, requestId, e.details);
  return new ContextApiError(
    res.status,
    codeForStatus(res.status),
    text.slice(0, 500) || `HTTP ${res.status}`,
    requestId,
  );
}
