// What route modules leave out of the OpenAPI document: body examples where schemas carry none and an example per
// error response, attached to the registry's copy of each route; a test parses each with the route's own schema.
import { errorCodes, statusOf, type ErrorCode } from '../errors.js';
import type { App } from './app.js';

type Definition = App['openAPIRegistry']['definitions'][number];
type RouteDefinition = Extract<Definition, { type: 'route' }>;

const SESSION = 'sess-42';
const AT = '2026-05-08T13:56:00.000Z';
/** A session as the list shows it; reading one session adds its window. */
const sessionExample = {
  session_id: SESSION,
  agent_id: 'travel-agent',
  user_id: 'u-ada',
  status: 'active',
  metadata: { task: 'Plan a trip to Lisbon' },
  turn_count: 3,
  total_tokens: 46,
  version: 3,
  created_at: AT,
  updated_at: AT,
};
const turn = (sequence: number, role: 'user' | 'assistant', content: string, token_count: number) => ({
  id: `0b6f3c1e-6a52-4a8e-9d7c-3f1a2b4c5d${String(sequence).padStart(2, '0')}`,
  sequence,
  role,
  name: null,
  content,
  token_count,
  external_id: null,
  tool_call_id: null,
  tool_calls: null,
  created_at: AT,
});
const turns = [
  turn(1, 'user', 'My name is Ada and I am planning a trip to Lisbon in May.', 17),
  turn(2, 'assistant', 'Great, Lisbon in May is lovely. Do you prefer hotels or apartments?', 16),
  turn(3, 'user', 'Apartments near Alfama, budget 120 euros per night.', 13),
];
const memory = {
  id: '5a8e2f4b-1c3d-4e5f-8a9b-0c1d2e3f4a5b',
  scope: 'user',
  kind: 'preference',
  content: 'Prefers apartments near Alfama.',
  user_id: 'u-ada',
  agent_id: null,
  session_id: null,
  tool_call_id: null,
  shared_group_ids: [],
  importance: 0.5,
  token_count: 7,
  metadata: {},
  created_at: AT,
  origin: 'written',
  source_sequences: null,
  valid_from: AT,
  valid_to: null,
  superseded_by: null,
  ended_in_session: null,
};
const chain = (done: boolean) => ({
  chain_id: 'chain-1',
  session_id: SESSION,
  name: 'book trip',
  status: done ? 'done' : 'open',
  steps: [
    {
      step_id: 'call_1',
      position: 0,
      tool_name: 'search_flights',
      arguments: { to: 'LIS' },
      status: done ? 'ok' : 'pending',
      result: done ? '{"flight":"TP1351","price":129}' : null,
      result_token_count: done ? 12 : 0,
      summary: done ? 'flight: TP1351, price: 129' : null,
    },
  ],
});
const section = (name: string, allotted: number, used: number, kept: number, dropped: number, note: string) => ({
  section: name,
  allotted,
  used,
  kept,
  dropped,
  note,
});
const keyView = {
  id: 'key_3kq9x',
  tenant: 'acme',
  prefix: 'ctx_9Jf2',
  scopes: ['read', 'write'],
  created_at: AT,
  revoked_at: null,
};

/** Examples by operationId: `request` for the JSON body, and one per success status. Only what the schemas lack. */
export const operationExamples: Record<string, { request?: unknown; responses?: Record<string, unknown> }> = {
  writeTurns: {
    responses: {
      201: {
        session_id: SESSION,
        session_created: true,
        total_tokens: 33,
        compression_queued: false,
        turns: turns.slice(0, 2).map((t) => ({
          id: t.id,
          sequence: t.sequence,
          token_count: t.token_count,
          external_id: null,
          duplicate: false,
        })),
      },
    },
  },
  listTurns: { responses: { 200: { turns, next_cursor: null } } },
  queryContext: {
    responses: {
      200: {
        session_id: SESSION,
        request_id: 'b1c9e7a2-4f0d-4d3b-9a51-2e8f6c7d0a13',
        session_version: 3,
        token_count: 137,
        cached: false,
        envelope: {
          task_summary: turns[0]!.content,
          hard_constraints: [],
          relevant_history: [
            {
              id: turns[2]!.id,
              source: 'recent',
              sequence: 3,
              role: 'user',
              name: null,
              content: turns[2]!.content,
              created_at: AT,
              score: 0.998,
              truncated: false,
            },
          ],
          retrieved_memory: [
            { id: memory.id, content: memory.content, scope: 'user', kind: 'preference', score: 0.61 },
          ],
          tool_findings: [],
          budget_report: {
            budget_tokens: 300,
            reserve_tokens: 0,
            frame_tokens: 46,
            used_tokens: 137,
            sections: [
              section('task_anchor', 20, 26, 1, 0, 'kept 1 of 1'),
              section('hard_constraints', 17, 0, 0, 0, 'no candidates; its share flowed to the next section'),
              section('recent_turns', 97, 48, 2, 1, 'kept 2 of 3; 1 already shown in an earlier section'),
              section('relevant_history', 48, 0, 0, 0, 'no candidates; its share flowed to the next section'),
              section('past_sessions', 42, 0, 0, 0, 'no candidates; its share flowed to the next section'),
              section('tool_findings', 0, 0, 0, 0, 'no candidates; its share flowed to the next section'),
              section('retrieved_memory', 25, 17, 1, 0, 'kept 1 of 1'),
              section('summary', 0, 0, 0, 0, 'no candidates; its share flowed to the next section'),
            ],
            dropped: [{ id: turns[0]!.id, section: 'recent_turns', reason: 'duplicate', score: 0.998, tokens: 30 }],
          },
        },
        rendered: {
          text: 'Context for the next model call. …',
          messages: [
            { role: 'system', content: 'Context for the next model call. …' },
            { role: 'user', content: '<data section="recent_turns">…</data>' },
          ],
        },
      },
    },
  },
  rebuildContext: {
    request: { strategy: 'summarize', max_tokens: 4000 },
    responses: {
      202: {
        job_id: 'e3b0c442-98fc-4c14-9afb-f4c8996fb924',
        session_id: SESSION,
        status: 'queued',
        strategy: 'summarize',
        max_tokens: 4000,
      },
    },
  },
  getSession: {
    responses: {
      200: {
        ...sessionExample,
        window: {
          max_tokens: 8000,
          compression_strategy: 'summarize',
          summary: '',
          summary_token_count: 0,
          summarized_through: 0,
          version: 1,
        },
      },
    },
  },
  listSessions: {
    responses: {
      200: {
        sessions: [sessionExample],
        next_cursor: 'WyIyMDI2LTA1LTA4IDEzOjU2OjAwLjEyMzQ1NiswMCIsInNlc3MtNDIiXQ',
      },
    },
  },
  listUsers: {
    responses: { 200: { users: [{ user_id: 'u-ada', session_count: 12, created_at: AT }], next_cursor: null } },
  },
  listAgents: {
    responses: {
      200: {
        agents: [
          {
            agent_id: 'travel-agent',
            name: 'Travel agent',
            description: 'Plans trips',
            llm_provider: 'openai',
            session_count: 12,
            created_at: AT,
            updated_at: AT,
          },
        ],
        next_cursor: null,
      },
    },
  },
  searchHistory: { responses: { 200: { results: [{ ...turns[2]!, score: 0.42 }] } } },
  listCompactions: {
    responses: {
      200: {
        compactions: [
          {
            id: '9f86d081-884c-4d63-9f0b-1a2b3c4d5e6f',
            strategy: 'summarize',
            reason: 'threshold',
            from_sequence: 1,
            through_sequence: 40,
            turn_count: 40,
            tokens_before: 8412,
            tokens_after: 410,
            output: 'Ada plans a trip to Lisbon in May; wants an apartment near Alfama …',
            model: null,
            duration_ms: 12.5,
            created_at: AT,
          },
        ],
      },
    },
  },
  registerToolChain: { responses: { 201: chain(false) } },
  updateToolResult: { responses: { 200: chain(true) } },
  getAgentContext: {
    responses: {
      200: {
        agent_id: 'travel-agent',
        name: 'Travel agent',
        description: 'Plans trips',
        config: {},
        llm_provider: null,
        session_count: 12,
        memories: [
          {
            id: memory.id,
            kind: 'fact',
            content: 'Lisbon trams need a Viva Viagem card.',
            shared_group_ids: ['travel'],
          },
        ],
      },
    },
  },
  createMemory: { responses: { 201: memory } },
  listMemories: { responses: { 200: { memories: [memory], next_cursor: null } } },
  searchMemories: {
    request: { query: 'where to stay', user_id: 'u-ada', limit: 5 },
    responses: { 200: { memories: [{ ...memory, score: 0.42 }] } },
  },
  publishEvent: {
    responses: {
      202: {
        event_id: 'evt-1',
        type: 'conversation.new',
        status: 'processed',
        result: { session_id: SESSION, turns: 1 },
      },
    },
  },
  createApiKey: {
    responses: { 201: { id: 'key_3kq9x', key: 'ctx_9Jf2…', tenant: 'acme', scopes: ['read', 'write'] } },
  },
  listApiKeys: { responses: { 200: { keys: [keyView] } } },
};

const errorMessages: Record<ErrorCode, string> = {
  BAD_REQUEST: 'budget_tokens: Too small: expected number to be >0',
  UNAUTHORIZED: 'invalid or revoked API key',
  FORBIDDEN: 'this key lacks the "write" scope',
  NOT_FOUND: `session "${SESSION}" not found`,
  CONFLICT: 'Idempotency-Key was already used with a different request',
  PAYLOAD_TOO_LARGE: 'request body is over 2097152 bytes',
  UNSUPPORTED_MEDIA_TYPE: 'send the body as application/json',
  RATE_LIMITED: 'rate limit of 600 requests per minute reached for this key',
  UNAVAILABLE: 'the database is unreachable; retry shortly',
  INTERNAL: 'internal error; the request id identifies it in the logs',
};

export function errorExample(status: number): unknown {
  const code = errorCodes.find((c) => statusOf[c] === status);
  if (!code) return undefined;
  return { error: { code, message: errorMessages[code], request_id: '8c5d2a71-0e4f-4b6a-b3d9-7f1e2c3a4b5d' } };
}

type Content = Record<string, { example?: unknown; examples?: unknown } | undefined>;

/** A copy of `content` whose JSON media type carries `example`, unless it already has one. */
function withExample<C extends object | undefined>(content: C, example: unknown): C {
  const json = (content as Content | undefined)?.['application/json'];
  if (!json || example === undefined || json.example !== undefined || json.examples !== undefined) return content;
  return { ...content, 'application/json': { ...json, example } };
}

export function documentExtras(app: App): void {
  for (const def of app.openAPIRegistry.definitions) {
    if (def.type !== 'route') continue;
    const route = (def as RouteDefinition).route;
    const examples = operationExamples[route.operationId ?? ''] ?? {};
    const body = route.request?.body;
    const responses = Object.fromEntries(
      Object.entries(route.responses).map(([status, response]) => {
        if (!('content' in response) || !response.content) return [status, response];
        const example = Number(status) >= 400 ? errorExample(Number(status)) : examples.responses?.[status];
        return [status, { ...response, content: withExample(response.content, example) }];
      }),
    );
    // The registry holds its own shallow copy of each route; replacing it leaves the route modules' objects untouched.
    (def as RouteDefinition).route = {
      ...route,
      ...(route.request && body
        ? { request: { ...route.request, body: { ...body, content: withExample(body.content, examples.request) } } }
        : {}),
      responses,
    };
  }
}
