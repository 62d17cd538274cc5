// POST /mcp: the MCP tools over Streamable HTTP with the /v1 bearer key, stateless (a server per POST, JSON answers) so
// any instance serves any request. GET and DELETE answer 405: there is no session to stream from or end.
import { limits } from '../../config/tuning.js';
import { ApiError } from '../../errors.js';
import type { Ctx, Deps } from '../../ports.js';
import { authenticate } from '../../services/auth.js';
import type { App } from '../app.js';

const methodNotAllowed = () =>
  new Response(
    JSON.stringify({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Method not allowed: this server is stateless; use POST.' },
      id: null,
    }),
    { status: 405, headers: { allow: 'POST', 'content-type': 'application/json' } },
  );

// The MCP SDK and the tool definitions load on the first /mcp request, not with the API.
let modules:
  | Promise<
      [
        typeof import('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'),
        typeof import('../../mcp/server.js'),
      ]
    >
  | undefined;
const loadMcp = () =>
  (modules ??= Promise.all([
    import('@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'),
    import('../../mcp/server.js'),
  ]));

export const registerMcp = (app: App, deps: Deps) =>
  app.on(['POST', 'GET', 'DELETE'], '/mcp', async (c) => {
    const principal = await authenticate(deps, c.req.header('Authorization'));
    if (c.req.method !== 'POST') return methodNotAllowed();
    if (deps.rateLimiter) {
      const verdict = await deps.rateLimiter.limit(principal.keyId).catch(() => undefined);
      if (verdict && !verdict.allowed)
        throw new ApiError('RATE_LIMITED', `rate limit of ${verdict.limit} requests per minute reached for this key`);
    }
    const requestId = c.get('requestId');
    const ctx: Ctx = {
      ...deps,
      tenantId: principal.tenantId,
      requestId,
      logger: deps.logger.child({ request_id: requestId, tenant_id: principal.tenantId, via: 'mcp' }),
    };
    const [{ WebStandardStreamableHTTPServerTransport }, { createMcpServer }] = await loadMcp();
    const server = createMcpServer(ctx, principal.scopes);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      maxRequestBodySize: limits.bodyBytes,
    });
    try {
      await server.connect(transport);
      // In JSON mode the response is complete when it resolves, so the server can be closed right after.
      return await transport.handleRequest(c.req.raw);
    } finally {
      await server.close();
    }
  });
