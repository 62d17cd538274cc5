// `npm run mcp`: the MCP tools over stdio for a local agent, on the store and tenant `npm start` uses (docs/mcp.md).
// PGlite keeps its files for one process: while `npm start` runs on the same DATA_DIR, use its /mcp endpoint.
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { parseEnv } from '../config/env.js';
import { randomToken } from '../crypto.js';
import { createLogger } from '../logger.js';
import type { Ctx } from '../ports.js';
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
const deps = await createNodeDeps(env, { logger });

const apiKey = localApiKey(env);

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
