// Exercises the production @upstash/redis client against the local REST stand-in, so an encoding or protocol
// mismatch shows up here rather than as corrupted cache values elsewhere.
import { createHash, randomBytes } from 'node:crypto';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Redis } from '@upstash/redis';
import { startUpstashGateway, type UpstashGateway } from '../../infra/upstash-rest-gateway.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const token = `test-token-${randomBytes(8).toString('hex')}`;
const prefix = `infra-upstash-${randomBytes(4).toString('hex')}:`;
const key = (name: string): string => `${prefix}${name}`;

let gateway: UpstashGateway;
let redis: Redis;

beforeAll(async () => {
  gateway = await startUpstashGateway({ redisUrl, token, port: 0 });
  redis = new Redis({ url: gateway.url, token: gateway.token });
});

afterAll(async () => {
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    await gateway.close();
  }
});

describe('@upstash/redis against the stand-in', () => {
  it('keeps values that happen to be valid base64 intact', async () => {
    await redis.set(key('plain'), 'hello');
    await redis.set(key('b64'), 'aGVsbG8=');
    expect(await redis.get(key('plain'))).toBe('hello');
    expect(await redis.get(key('b64'))).toBe('aGVsbG8=');
  });

  it('round-trips UTF-8 text, JSON values and missing keys', async () => {
    await redis.set(key('utf8'), 'héllo ✓ 日本');
    expect(await redis.get(key('utf8'))).toBe('héllo ✓ 日本');

    const doc = { id: 'x', n: 3, nested: { list: [1, 'two', null] }, ok: true };
    await redis.set(key('json'), doc);
    expect(await redis.get(key('json'))).toEqual(doc);

    expect(await redis.get(key('missing'))).toBeNull();
  });

  it('supports counters and expiry', async () => {
    expect(await redis.incr(key('counter'))).toBe(1);
    expect(await redis.incrby(key('counter'), 41)).toBe(42);
    expect(await redis.get(key('counter'))).toBe(42);

    expect(await redis.expire(key('counter'), 100)).toBe(1);
    const ttl = await redis.ttl(key('counter'));
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await redis.ttl(key('missing'))).toBe(-2);

    await redis.set(key('ex'), 'v', { ex: 60 });
    expect(await redis.ttl(key('ex'))).toBeGreaterThan(50);
  });

  it('supports hashes, including HGETALL as a field map', async () => {
    expect(await redis.hset(key('hash'), { name: 'ada', count: 2, b64: 'aGVsbG8=' })).toBe(3);
    expect(await redis.hget(key('hash'), 'name')).toBe('ada');
    expect(await redis.hgetall(key('hash'))).toEqual({ name: 'ada', count: 2, b64: 'aGVsbG8=' });
    expect(await redis.hgetall(key('no-hash'))).toBeNull();
  });

  it('supports lists and sorted sets', async () => {
    await redis.rpush(key('list'), 'a', 'b', 'c');
    expect(await redis.lrange(key('list'), 0, -1)).toEqual(['a', 'b', 'c']);
    await redis.zadd(key('z'), { score: 1.5, member: 'one' }, { score: 3, member: 'three' });
    expect(await redis.zrange(key('z'), 0, -1, { withScores: true })).toEqual(['one', 1.5, 'three', 3]);
  });

  it('deletes keys', async () => {
    await redis.set(key('d1'), '1');
    await redis.set(key('d2'), '2');
    expect(await redis.del(key('d1'), key('d2'), key('d3'))).toBe(2);
    expect(await redis.exists(key('d1'))).toBe(0);
  });

  it('runs pipelines with per-command results', async () => {
    const results = await redis
      .pipeline()
      .set(key('p'), 'aGVsbG8=')
      .get(key('p'))
      .incr(key('p-count'))
      .hset(key('p-hash'), { f: 'v' })
      .hgetall(key('p-hash'))
      .exec();
    expect(results).toEqual(['OK', 'aGVsbG8=', 1, 1, { f: 'v' }]);

    const kept = await redis
      .pipeline()
      .set(key('p-str'), 'text')
      .incr(key('p-str'))
      .get(key('p-str'))
      .exec({ keepErrors: true });
    expect(kept[0]).toMatchObject({ result: 'OK' });
    expect(kept[1]?.error).toMatch(/not an integer/);
    expect(kept[2]).toMatchObject({ result: 'text' });
  });

  it('runs multi() as a transaction', async () => {
    const results = await redis.multi().set(key('m'), 'one').append(key('m'), '-two').get(key('m')).exec();
    expect(results).toEqual(['OK', 7, 'one-two']);
  });

  it('raises Redis errors as exceptions', async () => {
    await redis.set(key('not-a-number'), 'abc');
    await expect(redis.incr(key('not-a-number'))).rejects.toThrow(/not an integer/);
    await expect(redis.pipeline().incr(key('not-a-number')).exec()).rejects.toThrow(/not an integer/);
  });

  it('works without auto-pipelining (single commands on POST /)', async () => {
    const direct = new Redis({ url: gateway.url, token: gateway.token, enableAutoPipelining: false });
    await direct.set(key('direct'), 'aGVsbG8=');
    expect(await direct.get(key('direct'))).toBe('aGVsbG8=');
    await expect(direct.incr(key('direct'))).rejects.toThrow(/not an integer/);
  });

  it('refuses a wrong token', async () => {
    const intruder = new Redis({ url: gateway.url, token: 'wrong-token', enableAutoPipelining: false });
    await expect(intruder.get(key('plain'))).rejects.toThrow(/Unauthorized/);
  });
});

describe('raw REST protocol', () => {
  async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, ...headers },
      body: JSON.stringify(body),
    });
  }

  it('answers plain strings without Upstash-Encoding and base64 with it', async () => {
    await post('/', ['SET', key('raw'), 'hello']);
    expect(await (await post('/', ['GET', key('raw')])).json()).toEqual({ result: 'hello' });
    expect(await (await post('/', ['GET', key('raw')], { 'Upstash-Encoding': 'base64' })).json()).toEqual({
      result: 'aGVsbG8=',
    });
  });

  it('encodes nested arrays but leaves integers and nil alone', async () => {
    const res = await post(
      '/pipeline',
      [
        ['MGET', key('raw'), key('nothing')],
        ['EXISTS', key('raw')],
      ],
      {
        'Upstash-Encoding': 'base64',
      },
    );
    expect(await res.json()).toEqual([{ result: ['aGVsbG8=', null] }, { result: 1 }]);
  });

  it('flattens HGETALL to the array Redis returns', async () => {
    await post('/', ['HSET', key('raw-hash'), 'a', '1', 'b', '2']);
    expect(await (await post('/', ['HGETALL', key('raw-hash')])).json()).toEqual({ result: ['a', '1', 'b', '2'] });
    expect(await (await post('/multi-exec', [['hgetall', key('raw-hash')]])).json()).toEqual([
      { result: ['a', '1', 'b', '2'] },
    ]);
  });

  it('answers 400 with the Redis error for a failing command', async () => {
    const res = await post('/', ['NOSUCHCOMMAND']);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/unknown command/i);
  });

  it('aborts a transaction with a queue-time error', async () => {
    const res = await post('/multi-exec', [['SET', key('abort'), '1'], ['INCR']]);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/EXECABORT/);
    expect(await (await post('/', ['EXISTS', key('abort')])).json()).toEqual({ result: 0 });
  });

  it('refuses commands that would change the shared connection', async () => {
    const res = await post('/pipeline', [['SELECT', '1'], ['PING']]);
    const body = (await res.json()) as { error?: string; result?: unknown }[];
    expect(body[0]?.error).toMatch(/not available/);
    expect(body[1]).toEqual({ result: 'PONG' });
  });

  it('answers 401 without a token', async () => {
    const res = await fetch(gateway.url, { method: 'POST', body: JSON.stringify(['PING']) });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'Unauthorized' });
  });
});

describe('scripts written for a newer Redis', () => {
  it('drops shebang flags this Redis does not know and keeps the rest', async () => {
    const { stripNewerScriptFlags } = await import('../../infra/upstash-rest-gateway.js');
    expect(stripNewerScriptFlags('#!lua flags=allow-key-locking\nreturn 1')).toBe('#!lua\nreturn 1');
    expect(stripNewerScriptFlags('#!lua flags=no-writes,allow-key-locking\nreturn 1')).toBe(
      '#!lua flags=no-writes\nreturn 1',
    );
    expect(stripNewerScriptFlags('return 1')).toBe('return 1');
  });

  it('answers EVALSHA with the SHA of the script as sent, once EVAL has run it', async () => {
    // A script of its own, so no earlier run has cached it.
    const script = `#!lua flags=allow-key-locking\nreturn ARGV[1] .. '${randomBytes(4).toString('hex')}'`;
    const sha = createHash('sha1').update(script).digest('hex');
    await expect(redis.evalsha(sha, [], ['x'])).rejects.toThrow(/NOSCRIPT/);
    const first = await redis.eval(script, [], ['x']);
    expect(await redis.evalsha(sha, [], ['x'])).toBe(first);
  });
});
