// Self-hosted Redis for Node (REDIS_URL): the Upstash cache logic (same key layout, prefix index sets) over ioredis
// through a small shim. Commands fail fast while Redis is down, so requests fall back to the database at once.
import { Redis as IORedis } from 'ioredis';
import type { Cache } from '../../ports.js';
import { upstashCache, type UpstashClient } from './upstash.js';

export function connectRedis(url: string, onError: (err: Error) => void = () => {}): IORedis {
  const client = new IORedis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    commandTimeout: 500,
    // Keep trying to reconnect in the background, at most every 2 s.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  // Connection errors are reported once per outage, not once per reconnect attempt.
  let down = false;
  client.on('error', (err) => {
    if (!down) onError(err);
    down = true;
  });
  client.on('ready', () => {
    down = false;
  });
  return client;
}

export function redisCache(client: IORedis): Cache {
  const shim = {
    get: (key: string) => client.get(key),
    smembers: (key: string) => client.smembers(key),
    multi: () => {
      const m = client.multi();
      const tx = {
        sadd: (key: string, ...members: string[]) => (m.sadd(key, ...members), tx),
        expire: (key: string, seconds: number, mode?: 'NX' | 'GT') => (
          mode === 'NX'
            ? m.expire(key, seconds, 'NX')
            : mode === 'GT'
              ? m.expire(key, seconds, 'GT')
              : m.expire(key, seconds),
          tx
        ),
        set: (key: string, value: string, opts?: { ex?: number }) => (
          opts?.ex ? m.set(key, value, 'EX', opts.ex) : m.set(key, value), tx
        ),
        del: (...keys: string[]) => (m.del(...keys), tx),
        srem: (key: string, ...members: string[]) => (m.srem(key, ...members), tx),
        exec: async () => {
          const results = await m.exec();
          const failed = results?.find(([err]) => err);
          if (failed) throw failed[0];
          return results?.map(([, value]) => value) ?? [];
        },
      };
      return tx;
    },
  };
  return upstashCache(shim as unknown as UpstashClient);
}
