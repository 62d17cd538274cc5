// `npm run mcp`: the MCP tools over stdio for a local agent, on the store and tenant `npm start` uses (docs/mcp.md).
// While `npm start` holds the same DATA_DIR, the messages are relayed to its /mcp endpoint instead.
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { parseEnv } from '../config/env.js';
import { randomToken } from '../crypto.js';
import { createLogger } from '../logger.js';
import type { Ctx } from '../ports.js';
import { DataDirInUse } from '../runtime/node/data-dir-lock.js';
import { createNodeDeps } from '../runtime/node/deps.js';
import { LOCAL_TENANT, localApiKey } from '../runtime/node/local-key.js';
import { authenticate, createApiKey, type Principal } from '../services/auth.js';
import { createMcpServer } from './server.js';

// stdout carries the protocol: every log line, ours or a library's, goes to stderr.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

const env = parseEnv(process.env);
const logger = createLogger(env.LOG_LEVEL).child({ via: 'mcp-stdio' });
const apiKey = localApiKey(env);

const deps = await createNodeDeps(env, { logger, command: 'npm run mcp' }).catch(async (err: unknown) => {
  if (!(err instanceof DataDirInUse)) throw err;
  if (err.holder.url) return relay(new URL('/mcp', err.holder.url));
  console.error(`error: ${err.message}`);
  process.exit(1);
});

// A key the store already knows keeps its own tenant and scopes; an unknown one becomes the local tenant's key.
let principal: Principal | undefined = await authenticate(deps, `Bearer ${apiKey}`).catch(() => undefined);
if (!principal) {
  await createApiKey(deps, { tenantId: LOCAL_TENANT, key: apiKey, scopes: ['read', 'write'] });
  principal = await authenticate(deps, `Bearer ${apiKey}`);
}

const ctx: Ctx = {
  ...deps,
  tenantId: principal.tenantId,
  requestId: `mcp-stdio-${randomToken(6)}`,
  logger: logger.child({ tenant_id: principal.tenantId }),
};
const server = createMcpServer(ctx, principal.scopes);
const transport = new StdioServerTransport();

let closing = false;
const shutdown = async (reason: string) => {
  if (closing) return;
  closing = true;
  logger.info('shutting down', { reason });
  await server.close().catch(() => undefined);
  await deps.queue.drain();
  await deps.close();
  process.exit(0);
};
transport.onclose = () => void shutdown('transport closed');
process.stdin.on('end', () => void shutdown('stdin closed'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

await server.connect(transport);
logger.info('MCP server on stdio', {
  tenant_id: principal.tenantId,
  database: env.DATABASE_URL ? 'postgres' : 'pglite',
});

/** Relays every message between stdio and the running server's /mcp endpoint, with the local key; never returns. */
async function relay(url: URL): Promise<never> {
  const remote = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { authorization: `Bearer ${apiKey}` } },
  });
  const local = new StdioServerTransport();
  const fail = (err: Error) => logger.warn('relay to the running server failed', { error: err.message });
  local.onmessage = (message) => void remote.send(message).catch(fail);
  remote.onmessage = (message) => void local.send(message).catch(fail);
  remote.onerror = fail;
  const end = () => process.exit(0);
  local.onclose = end;
  process.stdin.on('end', end);
  await remote.start();
  await local.start();
  logger.info('relaying MCP over stdio to the running server', { url: url.href });
  return new Promise<never>(() => undefined);
}
