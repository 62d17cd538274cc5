// Local stand-in for the Upstash Kafka REST API over Redis Streams (ioredis), so the production `@upstash/kafka`
// client runs unmodified here. Test infrastructure only; the protocol and its mapping: infra/README.md.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Redis } from 'ioredis';
import { errorMessage, GatewayError, listen, redactUrl, sendJson } from './http.js';

export interface KafkaGatewayOptions {
  redisUrl: string;
  username: string;
  password: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Redis key prefix of every stream and bookkeeping key. */
  prefix?: string;
  /**
   * A message delivered but not committed within this time goes to the next consume of its group again, as it does
   * when a Kafka consumer instance expires and its group resumes from the committed offset.
   */
  redeliverAfterMs?: number;
}

export interface KafkaGateway {
  /** Base URL for `new Kafka({ url, username, password })`. */
  url: string;
  username: string;
  password: string;
  close(): Promise<void>;
}

export interface KafkaMessage {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string;
  value: string;
  headers: { key: string; value: string }[];
}

interface Context {
  redis: Redis;
  prefix: string;
  redeliverAfterMs: number;
  blocking: Set<Redis>;
}

/** Messages per consume call, like a Kafka fetch's max.poll.records. */
const MAX_MESSAGES = 500;
/** Upstash's default wait for a consume with no `timeout`. */
const DEFAULT_TIMEOUT_MS = 1000;
const MAX_TIMEOUT_MS = 30_000;

export async function startKafkaGateway(opts: KafkaGatewayOptions): Promise<KafkaGateway> {
  if (!opts.username || !opts.password) throw new Error('username and password must not be empty');
  const redis = new Redis(opts.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  let lastError: unknown;
  redis.on('error', (err: unknown) => {
    lastError = err;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(
      `cannot reach Redis at ${redactUrl(opts.redisUrl, '(unparseable Redis URL)')}: ${errorMessage(lastError ?? err)}`,
      { cause: err },
    );
  }
  const ctx: Context = {
    redis,
    prefix: opts.prefix ?? 'kafka:',
    redeliverAfterMs: opts.redeliverAfterMs ?? 30_000,
    blocking: new Set(),
  };
  const expectedAuth = `Basic ${Buffer.from(`${opts.username}:${opts.password}`, 'utf8').toString('base64')}`;

  const server = createServer((req, res) => {
    handle(ctx, expectedAuth, req, res).catch((err: unknown) => {
      sendJson(res, 500, { error: `gateway failure: ${errorMessage(err)}`, status: 500 });
    });
  });
  const url = await listen(server, opts.host ?? '127.0.0.1', opts.port ?? 0);

  let closing: Promise<void> | undefined;
  return {
    url,
    username: opts.username,
    password: opts.password,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        for (const conn of ctx.blocking) conn.disconnect();
        await closed;
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}

async function handle(ctx: Context, expectedAuth: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.headers.authorization !== expectedAuth) {
    sendJson(res, 401, { error: 'Unauthorized', status: 401 });
    return;
  }
  const parts = new URL(req.url ?? '/', 'http://gateway').pathname.split('/').filter(Boolean).map(decodeURIComponent);
  try {
    const [action, group, instance] = parts;
    if (req.method === 'GET' && action === 'topics' && parts.length === 1) {
      sendJson(res, 200, await listTopics(ctx));
      return;
    }
    if (req.method !== 'POST') throw new GatewayError(405, `${req.method} is not supported here`);
    const body = await readBody(req);
    if (action === 'produce' && parts.length === 1) {
      sendJson(res, 200, await produce(ctx, body));
    } else if (action === 'consume' && group && instance && parts.length === 3) {
      sendJson(res, 200, await consume(ctx, group, instance, body, req.headers));
    } else if (action === 'commit' && group && instance && parts.length === 3) {
      await commit(ctx, group, instance, body);
      sendJson(res, 200, { result: 'Success', status: 200 });
    } else if (action === 'committed' && group && instance && parts.length === 3) {
      sendJson(res, 200, await committed(ctx, group, body));
    } else if (action === 'delete-consumer' && group && instance && parts.length === 3) {
      // Its uncommitted messages stay pending and go to the group's next consume after redeliverAfterMs.
      sendJson(res, 200, { result: 'Success', status: 200 });
    } else {
      throw new GatewayError(404, `unsupported path: /${parts.join('/')}`);
    }
  } catch (err) {
    const status = err instanceof GatewayError ? err.status : 400;
    sendJson(res, status, { error: errorMessage(err), status });
  }
}

/** The client sends no body at all for a commit of everything consumed. */
async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new GatewayError(400, 'invalid JSON body');
  }
}

const streamKey = (ctx: Context, topic: string) => `${ctx.prefix}topic:${topic}`;
const topicsKey = (ctx: Context) => `${ctx.prefix}topics`;
const committedKey = (ctx: Context, group: string) => `${ctx.prefix}committed:${group}`;
const idOf = (offset: number) => `0-${offset + 1}`;
const offsetOf = (id: string) => Number(id.slice(id.indexOf('-') + 1)) - 1;

function topicName(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(value))
    throw new GatewayError(400, `invalid topic: ${JSON.stringify(value)}`);
  return value;
}

function partitionOf(value: unknown): number {
  if (value === undefined || value === 0) return 0;
  throw new GatewayError(
    400,
    `partition ${JSON.stringify(value)} does not exist: the stand-in has one partition (0) per topic`,
  );
}

async function listTopics(ctx: Context): Promise<Record<string, number>> {
  const topics = await ctx.redis.smembers(topicsKey(ctx));
  return Object.fromEntries(topics.sort().map((t) => [t, 1]));
}

async function produce(ctx: Context, body: unknown) {
  const requests = Array.isArray(body) ? body : [body];
  if (requests.length === 0) throw new GatewayError(400, 'nothing to produce');
  const out = [];
  for (const r of requests as Record<string, unknown>[]) {
    if (typeof r !== 'object' || r === null) throw new GatewayError(400, 'a message must be an object');
    const topic = topicName(r.topic);
    const partition = partitionOf(r.partition);
    if (typeof r.value !== 'string') throw new GatewayError(400, 'value must be a string');
    const headers = r.headers === undefined ? [] : r.headers;
    if (!Array.isArray(headers) || !headers.every((h) => typeof h?.key === 'string' && typeof h?.value === 'string'))
      throw new GatewayError(400, 'headers must be [{ key, value }] with string keys and values');
    // Upstash takes the timestamp in seconds on produce and reports milliseconds.
    const timestamp = typeof r.timestamp === 'number' ? r.timestamp * 1000 : Date.now();
    await ctx.redis.sadd(topicsKey(ctx), topic);
    const id = await ctx.redis.xadd(
      streamKey(ctx, topic),
      '0-*',
      'value',
      r.value,
      'key',
      typeof r.key === 'string' ? r.key : '',
      'timestamp',
      String(timestamp),
      'headers',
      JSON.stringify(headers),
    );
    out.push({ topic, partition, offset: offsetOf(id!), timestamp });
  }
  return out;
}

type Entry = [id: string, fields: string[]];

function toMessage(topic: string, [id, fields]: Entry): KafkaMessage {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  return {
    topic,
    partition: 0,
    offset: offsetOf(id),
    timestamp: Number(f.timestamp ?? 0),
    key: f.key ?? '',
    value: f.value ?? '',
    headers: JSON.parse(f.headers ?? '[]') as KafkaMessage['headers'],
  };
}

async function ensureGroup(ctx: Context, topic: string, group: string, reset: string) {
  await ctx.redis.sadd(topicsKey(ctx), topic);
  try {
    // `latest` starts the group at the end of the topic as it is now; `earliest` at offset 0.
    await ctx.redis.xgroup('CREATE', streamKey(ctx, topic), group, reset === 'earliest' ? '0' : '$', 'MKSTREAM');
  } catch (err) {
    if (!errorMessage(err).startsWith('BUSYGROUP')) throw err;
  }
}

async function consume(
  ctx: Context,
  group: string,
  instance: string,
  body: unknown,
  headers: IncomingMessage['headers'],
): Promise<KafkaMessage[]> {
  const b = (body ?? {}) as { topic?: unknown; topics?: unknown; timeout?: unknown };
  const topics = (b.topics !== undefined ? (Array.isArray(b.topics) ? b.topics : [b.topics]) : [b.topic]).map(
    topicName,
  );
  if (topics.length === 0) throw new GatewayError(400, 'no topic to consume');
  const timeout = Math.min(
    MAX_TIMEOUT_MS,
    typeof b.timeout === 'number' && b.timeout >= 0 ? b.timeout : DEFAULT_TIMEOUT_MS,
  );
  const reset = String(headers['kafka-auto-offset-reset'] ?? 'latest');
  if (!['earliest', 'latest', 'none'].includes(reset))
    throw new GatewayError(400, `invalid Kafka-Auto-Offset-Reset: ${reset}`);
  const autoCommit = String(headers['kafka-enable-auto-commit'] ?? 'true') !== 'false';
  for (const topic of topics) await ensureGroup(ctx, topic, group, reset);

  const messages: KafkaMessage[] = [];
  // Messages another delivery left uncommitted for too long come first, in offset order.
  for (const topic of topics) {
    const [, claimed] = (await ctx.redis.xautoclaim(
      streamKey(ctx, topic),
      group,
      instance,
      ctx.redeliverAfterMs,
      '0-0',
      'COUNT',
      MAX_MESSAGES,
    )) as [string, (Entry | null)[]];
    for (const e of claimed) if (e) messages.push(toMessage(topic, e));
  }
  const read = async (conn: Redis, block: number) => {
    const args: (string | number)[] = ['GROUP', group, instance, 'COUNT', MAX_MESSAGES - messages.length];
    if (block > 0) args.push('BLOCK', block);
    const reply = (await conn.call(
      'XREADGROUP',
      ...args,
      'STREAMS',
      ...topics.map((t) => streamKey(ctx, t)),
      ...topics.map(() => '>'),
    )) as [string, Entry[]][] | null;
    for (const [key, entries] of reply ?? []) {
      const topic = topics.find((t) => streamKey(ctx, t) === key)!;
      for (const e of entries) messages.push(toMessage(topic, e));
    }
  };
  if (messages.length < MAX_MESSAGES) await read(ctx.redis, 0);
  if (messages.length === 0 && timeout > 0) {
    // A long poll blocks its connection, so it gets one of its own.
    const conn = ctx.redis.duplicate();
    conn.on('error', () => {});
    ctx.blocking.add(conn);
    try {
      await read(conn, timeout);
    } finally {
      ctx.blocking.delete(conn);
      conn.disconnect();
    }
  }
  if (autoCommit && messages.length > 0) {
    for (const topic of topics) {
      const mine = messages.filter((m) => m.topic === topic);
      if (mine.length) await commitOffset(ctx, group, topic, Math.max(...mine.map((m) => m.offset)) + 1);
    }
  }
  return messages;
}

/** Acknowledges every pending entry of the group below `offset` and records `offset` as committed. */
async function commitOffset(ctx: Context, group: string, topic: string, offset: number) {
  if (!Number.isInteger(offset) || offset < 0) throw new GatewayError(400, `invalid offset: ${offset}`);
  const key = streamKey(ctx, topic);
  for (;;) {
    const pending = (await ctx.redis.xpending(key, group, '-', `(${idOf(offset)}`, 1000)) as [
      string,
      string,
      number,
      number,
    ][];
    if (pending.length === 0) break;
    await ctx.redis.xack(key, group, ...pending.map((p) => p[0]));
    if (pending.length < 1000) break;
  }
  // Never moves backwards: a late commit of an older offset must not rewind what the group reports.
  const previous = Number((await ctx.redis.hget(committedKey(ctx, group), `${topic}:0`)) ?? -1);
  if (offset > previous) await ctx.redis.hset(committedKey(ctx, group), `${topic}:0`, String(offset));
}

async function commit(ctx: Context, group: string, instance: string, body: unknown) {
  if (body === undefined || body === null) {
    // Everything this instance was handed: the newest pending offset of each topic it reads, plus one.
    const topics = await ctx.redis.smembers(topicsKey(ctx));
    for (const topic of topics) {
      const key = streamKey(ctx, topic);
      const groups = (await ctx.redis.xinfo('GROUPS', key).catch(() => [])) as unknown[][];
      if (!groups.some((g) => g[1] === group)) continue;
      const pending = (await ctx.redis.xpending(key, group, '-', '+', 1_000_000, instance)) as [string][];
      if (pending.length) await commitOffset(ctx, group, topic, Math.max(...pending.map((p) => offsetOf(p[0]))) + 1);
    }
    return;
  }
  const offsets = Array.isArray(body) ? body : [body];
  for (const o of offsets as Record<string, unknown>[]) {
    partitionOf(o?.partition);
    await commitOffset(ctx, group, topicName(o?.topic), Number(o?.offset));
  }
}

async function committed(ctx: Context, group: string, body: unknown) {
  const partitions = (Array.isArray(body) ? body : [body]) as Record<string, unknown>[];
  const out = [];
  for (const p of partitions) {
    const topic = topicName(p?.topic);
    const partition = partitionOf(p?.partition);
    const value = await ctx.redis.hget(committedKey(ctx, group), `${topic}:0`);
    out.push({ topic, partition, offset: value === null ? -1 : Number(value) });
  }
  return out;
}
