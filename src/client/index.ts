// Typed client for the HTTP API; runs wherever `fetch` does. Its types are generated from the schemas the routes
// validate with (scripts/build/client-types.ts), so they stand alone in the package and cannot drift.
import type * as Api from './api-types.js';

import type {
  AgentContextResult,
  AgentPage,
  AgentResult,
  ApiKeyResult,
  Compactions,
  CreatedKeyResult,
  CreateKeyRequest,
  CreateMemoryRequest,
  EvaluationRequest,
  EvaluationResult,
  EventRequest,
  EventResult,
  HealthResult,
  MemoryPage,
  MemoryResult,
  QueryContextRequest,
  QueryContextResult,
  RebuildRequest,
  RebuildResult,
  RegisterAgentRequest,
  RegisterToolChainRequest,
  SearchHistoryRequest,
  SearchHistoryResult,
  SearchMemoriesRequest,
  Session,
  SessionPage,
  StrategyReportResult,
  TaskFlowRequest,
  TaskFlowResult,
  ToolChainResult,
  TraceResult,
  TraceStepsRequest,
  TraceStepsResult,
  TurnPage,
  UpdateToolResultRequest,
  UserPage,
  WriteTurnsRequest,
} from './api-types.js';

// Every request and response type, by the names of api-types.ts.
export type * from './api-types.js';

export type WriteTurnsResult = Api.WriteTurnsResponse & {
  /** True when the server answered from an earlier request with the same Idempotency-Key. */
  replayed: boolean;
};
export type ListTurnsRequest = Partial<Api.ListTurnsQuery>;
export type ListSessionsRequest = Partial<Api.ListSessionsQuery>;
export type ListOwnersRequest = Partial<Api.ListOwnersQuery>;
export type ListMemoriesRequest = Partial<Api.ListMemoriesQuery>;
export type ErrorCode = Api.ErrorBody['error']['code'];

export type FetchLike = (url: string, init: RequestInit) => Response | Promise<Response>;

export interface ContextClientOptions {
  /** Where the service listens, e.g. http://127.0.0.1:8787. */
  baseUrl: string;
  /** A tenant's API key (or the admin key for `client.admin`). */
  apiKey: string;
  /** Replaces the global fetch: a proxy, or `app.request` in tests. */
  fetch?: FetchLike;
  /** Sent with every request. */
  headers?: Record<string, string>;
  /** Per attempt, in milliseconds; default 30 000. 0 waits as long as fetch does. */
  timeoutMs?: number;
  /** Further attempts after a 429, a 502/503/504, a timeout or a network error; default 2. 0 turns retries off. */
  maxRetries?: number;
  /** First backoff in milliseconds, doubled each attempt with jitter (a `Retry-After` answer wins); default 250. */
  retryDelayMs?: number;
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

/** Answers after which the request may be sent again: throttled, or a gateway that did not reach the service. */
const retryStatuses = new Set([429, 502, 503, 504]);
const maxRetryAfterMs = 60_000;

/** `Retry-After` as seconds or an HTTP date, in milliseconds; undefined when absent or unreadable. */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** Request shape for the retry loop; `retrySafe` says a repeat cannot apply the request twice. */
interface Outgoing {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  retrySafe: boolean;
}

export class ContextClient {
  readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly fetchImpl: FetchLike;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryDelayMs: number;

  constructor(options: ContextClientOptions) {
    if (!options.baseUrl) throw new TypeError('ContextClient: baseUrl is required');
    if (!options.apiKey) throw new TypeError('ContextClient: apiKey is required');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.apiKey = options.apiKey;
    this.fetchImpl = options.fetch ?? ((url, init) => fetch(url, init));
    this.headers = options.headers ?? {};
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRetries = options.maxRetries ?? 2;
    this.retryDelayMs = options.retryDelayMs ?? 250;
  }

  /**
   * Sends with a timeout per attempt. A 429 is always retried (the server did not act on it); a 502/503/504, a
   * timeout or a network error only when the request is safe to repeat: a read, a PUT or DELETE, or a write that
   * carries an Idempotency-Key.
   */
  private async request(out: Outgoing, opts: CallOptions = {}): Promise<Response> {
    const init = {
      method: out.method,
      headers: {
        ...this.headers,
        authorization: `Bearer ${this.apiKey}`,
        accept: 'application/json',
        ...(out.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...out.headers,
      },
      body: out.body === undefined ? undefined : JSON.stringify(out.body),
    };
    for (let attempt = 0; ; attempt++) {
      const signal = this.attemptSignal(opts.signal);
      let res: Response | undefined;
      let failure: unknown;
      try {
        res = await this.fetchImpl(`${this.baseUrl}${out.path}`, { ...init, signal });
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        failure = err;
      }
      const retryable = res ? res.status === 429 || (retryStatuses.has(res.status) && out.retrySafe) : out.retrySafe;
      if (attempt >= this.maxRetries || !retryable) {
        if (!res) throw failure;
        if (!res.ok) throw await toError(res);
        return res;
      }
      const backoff = this.retryDelayMs * 2 ** attempt * (0.5 + Math.random() / 2);
      const wait = Math.min(retryAfterMs(res?.headers.get('retry-after') ?? null) ?? backoff, maxRetryAfterMs);
      await res?.body?.cancel();
      await sleep(wait, opts.signal);
    }
  }

  /** The caller's signal, and the timeout of one attempt. */
  private attemptSignal(signal?: AbortSignal): AbortSignal | undefined {
    const timeout = this.timeoutMs > 0 ? AbortSignal.timeout(this.timeoutMs) : undefined;
    return timeout && signal ? AbortSignal.any([timeout, signal]) : (timeout ?? signal);
  }

  private send(
    method: string,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
    opts: CallOptions = {},
    retrySafe = method === 'GET' || method === 'PUT' || method === 'DELETE',
  ) {
    return this.request({ method, path, body, headers: extra, retrySafe }, opts);
  }

  private async json<T>(method: string, path: string, body?: unknown, opts?: CallOptions): Promise<T> {
    const res = await this.send(method, path, body, {}, opts);
    return (await res.json()) as T;
  }

  /** A POST that only reads (a query or search): safe to repeat. */
  private async read<T>(path: string, body: unknown, opts?: CallOptions): Promise<T> {
    const res = await this.send('POST', path, body, {}, opts, true);
    return (await res.json()) as T;
  }

  private async none(method: string, path: string, opts?: CallOptions): Promise<void> {
    const res = await this.send(method, path, undefined, {}, opts);
    await res.body?.cancel();
  }

  /**
   * WriteQA: appends turns in order; the session is created on its first write. Without an `idempotencyKey` one is
   * generated, so a retried write is stored once. With `return_context` the answer also holds the context of the next
   * model call (`context`, or `context_error` when it could not be given).
   */
  async writeTurns(
    sessionId: string,
    body: WriteTurnsRequest,
    opts: CallOptions & { idempotencyKey?: string } = {},
  ): Promise<WriteTurnsResult> {
    const key = opts.idempotencyKey ?? (this.maxRetries > 0 ? crypto.randomUUID() : undefined);
    const res = await this.send(
      'POST',
      `/v1/sessions/${seg(sessionId)}/turns`,
      body,
      key ? { 'idempotency-key': key } : {},
      opts,
      key !== undefined,
    );
    const result = (await res.json()) as Api.WriteTurnsResponse;
    return { ...result, replayed: res.headers.get('idempotent-replayed') === 'true' };
  }

  /** QueryContext: the best context for the next model call within `budget_tokens`. */
  queryContext(sessionId: string, body: QueryContextRequest, opts?: CallOptions): Promise<QueryContextResult> {
    return this.read(`/v1/sessions/${seg(sessionId)}/context`, body, opts);
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

  getSession(sessionId: string, opts?: CallOptions): Promise<Session> {
    return this.json('GET', `/v1/sessions/${seg(sessionId)}`, undefined, opts);
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
    return this.read(`/v1/sessions/${seg(sessionId)}/search`, body, opts);
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
      this.read('/v1/memories/search', body, opts),
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

  /** Whether the service reaches its database. Answers `unavailable` on a 503 instead of throwing; not retried. */
  async health(opts: CallOptions = {}): Promise<HealthResult> {
    const res = await this.fetchImpl(`${this.baseUrl}/healthz`, {
      headers: { ...this.headers, accept: 'application/json' },
      signal: this.attemptSignal(opts.signal),
    });
    if (res.ok || res.status === 503) return (await res.json()) as HealthResult;
    throw await toError(res);
  }
}

async function toError(res: Response): Promise<ContextApiError> {
  const text = await res.text().catch(() => '');
  let body: Partial<Api.ErrorBody> | undefined;
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
