// Local stand-in for the Upstash Redis REST API over a real Redis (ioredis), so the production `@upstash/redis` client
// runs unmodified against it. Test infrastructure only: one shared token, no TLS, no per-database isolation.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { errorMessage, GatewayError, listen, readJson, redactUrl, sendJson } from './http.js';
import { Redis } from 'ioredis';

export interface UpstashGatewayOptions {
  redisUrl: string;
  /** The bearer token clients must send; anything else is answered 401. */
  token: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
}

export interface UpstashGateway {
  /** Base URL for `new Redis({ url, token })`. */
  url: string;
  token: string;
  close(): Promise<void>;
}

type Command = string[];

/** One command's outcome, in the shape Upstash uses for pipeline and transaction responses. */
type Outcome = { result: unknown } | { error: string };

// Commands that would change the state of the shared connection (or need a session the REST API does not
// have). Upstash rejects them over REST as well; transactions go through /multi-exec instead.
const sessionCommands = new Set([
  'auth',
  'hello',
  'select',
  'quit',
  'reset',
  'monitor',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'multi',
  'exec',
  'discard',
  'watch',
  'unwatch',
  'client',
]);

// Commands that can block; they run on a connection of their own so they cannot stall every other request.
const blockingCommands = new Set([
  'blpop',
  'brpop',
  'brpoplpush',
  'blmove',
  'blmpop',
  'bzpopmin',
  'bzpopmax',
  'bzmpop',
  'wait',
  'waitaof',
]);

export async function startUpstashGateway(opts: UpstashGatewayOptions): Promise<UpstashGateway> {
  if (opts.token === '') throw new Error('token must not be empty');
  const redis = new Redis(opts.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  // Errors reach the requests that hit them; the emitter must not crash the process when Redis blips.
  let lastError: unknown;
  redis.on('error', (err: unknown) => {
    lastError = err;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    // connect() only says "Connection is closed"; the emitted error has the cause (e.g. ECONNREFUSED).
    const reason = errorMessage(lastError ?? err);
    throw new Error(`cannot reach Redis at ${redactUrl(opts.redisUrl, '(unparseable Redis URL)')}: ${reason}`, {
      cause: err,
    });
  }

  const extraConnections = new Set<Redis>();
  const ctx: Context = { redis, extraConnections };
  const expectedAuth = `Bearer ${opts.token}`;

  const server = createServer((req, res) => {
    handle(ctx, expectedAuth, req, res).catch((err: unknown) => {
      sendJson(res, 500, { error: `gateway failure: ${errorMessage(err)}` });
    });
  });

  const url = await listen(server, opts.host ?? '127.0.0.1', opts.port ?? 0);

  let closing: Promise<void> | undefined;
  return {
    url,
    token: opts.token,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // fetch keeps connections alive; without this close() would wait for them to time out.
        server.closeAllConnections();
        await closed;
        for (const conn of extraConnections) conn.disconnect();
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}

interface Context {
  redis: Redis;
  extraConnections: Set<Redis>;
}

async function handle(ctx: Context, expectedAuth: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.headers.authorization !== expectedAuth) {
    sendJson(res, 401, { error: 'Unauthorized' });
    return;
  }
  const path = new URL(req.url ?? '/', 'http://gateway').pathname.replace(/\/+$/, '') || '/';
  if (path !== '/' && path !== '/pipeline' && path !== '/multi-exec') {
    sendJson(res, 404, { error: `ERR unsupported path: ${path}` });
    return;
  }
  if (req.method !== 'POST') {
    sendJson(res, 405, { error: 'ERR only POST is supported' });
    return;
  }
  // The client base64-decodes every string result when it sent this header (its default); answering plain
  // strings would silently corrupt values that happen to be valid base64.
  const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';

  try {
    const body = await readJson(req, 'ERR failed to parse command: body is not valid JSON');
    if (path === '/') {
      const outcome = (await runCommands(ctx, [parseCommand(body)]))[0];
      if (outcome === undefined || 'error' in outcome) {
        sendJson(res, 400, { error: outcome?.error ?? 'ERR no result' });
      } else {
        sendJson(res, 200, { result: encode(outcome.result, base64) });
      }
      return;
    }
    const commands = parseCommandList(body);
    const outcomes = path === '/pipeline' ? await runCommands(ctx, commands) : await runTransaction(ctx, commands);
    sendJson(
      res,
      200,
      outcomes.map((o) => ('error' in o ? o : { result: encode(o.result, base64) })),
    );
  } catch (err) {
    if (err instanceof GatewayError) sendJson(res, err.status, { error: err.message });
    else sendJson(res, 400, { error: errorMessage(err) });
  }
}

/** Runs commands in order without atomicity, like Upstash's /pipeline: each command has its own outcome. */
async function runCommands(ctx: Context, commands: Command[]): Promise<Outcome[]> {
  const rejected = commands.map(sessionCommandError);
  const blocking = commands.some((c) => blockingCommands.has(name(c)));
  const conn = blocking ? await openExtraConnection(ctx) : ctx.redis;
  try {
    // Issued back to back on one connection, so Redis sees them in order (ioredis pipelines them).
    const pending = commands.map((cmd, i) => {
      const refusal = rejected[i];
      if (refusal !== undefined) return Promise.resolve<Outcome>({ error: refusal });
      return send(conn, cmd).then(
        (result): Outcome => ({ result }),
        (err: unknown): Outcome => ({ error: errorMessage(err) }),
      );
    });
    return await Promise.all(pending);
  } finally {
    if (blocking) closeExtraConnection(ctx, conn);
  }
}

/** MULTI/EXEC: queue-time errors abort the whole transaction; run-time errors are reported per command. */
async function runTransaction(ctx: Context, commands: Command[]): Promise<Outcome[]> {
  for (const cmd of commands) {
    const refusal = sessionCommandError(cmd);
    if (refusal !== undefined) throw new GatewayError(400, refusal);
  }
  const multi = ctx.redis.multi();
  for (const [command, ...args] of commands) multi.callBuffer(rawName(command ?? ''), ...args);
  let replies: [error: Error | null, result: unknown][] | null;
  try {
    replies = await multi.exec();
  } catch (err) {
    const previous = (err as { previousErrors?: unknown[] }).previousErrors ?? [];
    const causes = previous.map(errorMessage).join('; ');
    throw new GatewayError(400, causes === '' ? errorMessage(err) : `${errorMessage(err)} (${causes})`);
  }
  if (replies === null) throw new GatewayError(400, 'EXECABORT transaction aborted');
  return replies.map(([error, result]) => (error ? { error: error.message } : { result }));
}

function send(conn: Redis, [command, ...args]: Command): Promise<unknown> {
  const upper = rawName(command ?? '');
  // Upstash runs a newer Redis than this machine's 7.0: drop script shebang flags 7.0 does not know (e.g.
  // `allow-key-locking`, sent by @upstash/ratelimit). That changes the script's SHA, so the SHA the client sends
  // with EVALSHA is mapped to the stripped script's; otherwise every EVALSHA would miss and be followed by an EVAL,
  // a round trip Upstash does not make.
  if (
    (upper === 'EVAL' || upper === 'EVAL_RO' || (upper === 'SCRIPT' && String(args[0]).toUpperCase() === 'LOAD')) &&
    args.length > 0
  ) {
    const i = upper === 'SCRIPT' ? 1 : 0;
    const script = args[i];
    if (typeof script === 'string') {
      args[i] = stripNewerScriptFlags(script);
      if (args[i] !== script) strippedShas.set(sha1(script), sha1(args[i] as string));
    }
  }
  if ((upper === 'EVALSHA' || upper === 'EVALSHA_RO') && typeof args[0] === 'string') {
    const sha = args[0].toLowerCase();
    args[0] = strippedShas.get(sha) ?? args[0];
  }
  return conn.callBuffer(upper, ...args);
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
/** SHA of a script as sent → SHA of the script as run, for scripts whose flags were dropped. */
const strippedShas = new Map<string, string>();

const KNOWN_SCRIPT_FLAGS = new Set(['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys']);

export function stripNewerScriptFlags(script: string): string {
  const m = script.match(/^#!lua flags=([^\n]*)\n/);
  if (!m) return script;
  const kept = m[1]!
    .split(',')
    .map((f) => f.trim())
    .filter((f) => KNOWN_SCRIPT_FLAGS.has(f));
  return `#!lua${kept.length ? ` flags=${kept.join(',')}` : ''}\n${script.slice(m[0].length)}`;
}

// ioredis reshapes some replies by lowercase command name (HGETALL becomes an object). Redis command names are
// case-insensitive, so sending them upper-cased bypasses that and keeps the exact reply Redis gave.
function rawName(command: string): string {
  return command.toUpperCase();
}

function name(cmd: Command): string {
  return (cmd[0] ?? '').toLowerCase();
}

function sessionCommandError(cmd: Command): string | undefined {
  const n = name(cmd);
  if (!sessionCommands.has(n)) return undefined;
  return `ERR Command is not available: '${n}'`;
}

async function openExtraConnection(ctx: Context): Promise<Redis> {
  const conn = ctx.redis.duplicate();
  conn.on('error', () => {});
  ctx.extraConnections.add(conn);
  try {
    await conn.connect();
  } catch (err) {
    closeExtraConnection(ctx, conn);
    throw err;
  }
  return conn;
}

function closeExtraConnection(ctx: Context, conn: Redis): void {
  ctx.extraConnections.delete(conn);
  conn.disconnect();
}

/**
 * Turns a Redis reply into Upstash's JSON: bulk strings as UTF-8 text, or base64 of their bytes when the client
 * asked for base64; integers and nil unchanged; arrays recursively.
 */
function encode(value: unknown, base64: boolean): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (Buffer.isBuffer(value)) return base64 ? value.toString('base64') : value.toString('utf8');
  if (typeof value === 'string') return base64 ? Buffer.from(value, 'utf8').toString('base64') : value;
  if (Array.isArray(value)) return value.map((v) => encode(v, base64));
  if (value instanceof Error) return encode(value.message, base64);
  if (typeof value === 'object') {
    // Defensive: should a reply arrive as an object (ioredis' HGETALL shape), answer the flat array Redis sent.
    return Object.entries(value).flatMap(([k, v]) => [encode(k, base64), encode(v, base64)]);
  }
  return encode(String(value), base64);
}

function parseCommandList(body: unknown): Command[] {
  if (!Array.isArray(body) || body.length === 0) {
    throw new GatewayError(400, 'ERR body must be a non-empty JSON array of commands');
  }
  return body.map(parseCommand);
}

function parseCommand(value: unknown): Command {
  if (!Array.isArray(value) || value.length === 0) {
    throw new GatewayError(400, 'ERR a command must be a non-empty JSON array');
  }
  return value.map((arg: unknown) => {
    // The client sends numbers and booleans as JSON scalars; Redis only knows strings.
    if (typeof arg === 'string') return arg;
    if (typeof arg === 'number' || typeof arg === 'boolean') return String(arg);
    if (arg === null) throw new GatewayError(400, 'ERR null is not a valid command argument');
    return JSON.stringify(arg);
  });
}
