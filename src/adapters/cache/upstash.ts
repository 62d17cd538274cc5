// Upstash Redis (REST) cache for Workers: JSON values with a TTL. Each key is also listed in index sets named after its
// ':'-terminated prefixes, so deletePrefix empties one set instead of walking the keyspace (slow, billed per key).
import type { Redis } from '@upstash/redis';
import type { Cache } from '../../ports.js';

const INDEX = 'idx:';
/** Prefixes shorter than `ctx:{tenant}:{session}:` are not indexed: their sets would grow with the whole keyspace. */
const MIN_PREFIX_COLONS = 3;
/** Keys per DEL/SREM, so one request stays small however many entries a session cached. */
const DELETE_CHUNK = 500;

/** The part of the Upstash client the cache uses (the Node and Workers builds of `Redis` both provide it). */
export type UpstashClient = Pick<Redis, 'get' | 'smembers' | 'multi'>;

/**
 * Every ':'-terminated prefix of `key` with at least three colons, shortest first. For
 * `ctx:t:s:v3.1:hash` that is `ctx:t:s:` and `ctx:t:s:v3.1:` (key parts are escaped, see cache-keys.ts).
 */
export function indexedPrefixes(key: string): string[] {
  const out: string[] = [];
  let colons = 0;
  for (let i = 0; i < key.length - 1; i++) {
    if (key[i] !== ':') continue;
    colons += 1;
    if (colons >= MIN_PREFIX_COLONS) out.push(key.slice(0, i + 1));
  }
  return out;
}

export function upstashCache(redis: UpstashClient): Cache {
  return {
    shared: true,
    async get<T>(key: string) {
      // The client parses JSON itself unless automatic deserialisation is off; accept both.
      const raw = await redis.get<unknown>(key);
      if (raw === null || raw === undefined) return undefined;
      const entry = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { v?: T } | null;
      return entry && typeof entry === 'object' && 'v' in entry ? entry.v : undefined;
    },

    async set(key, value, ttlSeconds) {
      const ttl = Math.max(1, Math.ceil(ttlSeconds));
      const tx = redis.multi();
      for (const prefix of indexedPrefixes(key)) {
        const index = INDEX + prefix;
        tx.sadd(index, key);
        // The index must outlive every member: give a new set the TTL, and only ever lengthen an existing one.
        tx.expire(index, ttl, 'NX');
        tx.expire(index, ttl, 'GT');
      }
      // Wrapped so any JSON value, strings and numbers included, round-trips unchanged through the client's parsing.
      tx.set(key, JSON.stringify({ v: value }), { ex: ttl });
      await tx.exec();
    },

    async deletePrefix(prefix) {
      if (!prefix.endsWith(':') || indexedPrefixes(`${prefix}x`).at(-1) !== prefix)
        throw new Error(
          `upstash cache: cannot delete prefix "${prefix}" (must end with ':' after at least ${MIN_PREFIX_COLONS} colons)`,
        );
      const index = INDEX + prefix;
      const members = (await redis.smembers<unknown[]>(index)).map(String);
      for (let i = 0; i < members.length; i += DELETE_CHUNK) {
        const chunk = members.slice(i, i + DELETE_CHUNK);
        const [first, ...rest] = chunk as [string, ...string[]];
        // The members' longer index sets (e.g. per version) go too, so no key name of the prefix is left behind.
        const nested = [
          ...new Set(
            chunk.flatMap((m) => indexedPrefixes(m).filter((p) => p.length > prefix.length && p.startsWith(prefix))),
          ),
        ];
        // SREM only what was read, not DEL of the set, so a key cached meanwhile stays indexed.
        await redis
          .multi()
          .del(...chunk, ...nested.map((p) => INDEX + p))
          .srem(index, first, ...rest)
          .exec();
      }
    },
  };
}
