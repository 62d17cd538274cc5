// In-process cache for the embedded default: a map with expiry, bounded in entries and in bytes estimated once per
// entry (JSON length, two bytes a character), so a few large contexts cannot hold memory; least recently used go first.
import type { Cache } from '../../ports.js';

export interface MemoryCacheOptions {
  maxEntries?: number;
  /** Estimated bytes all entries hold together; an entry over `maxBytes / 8` is not cached. */
  maxBytes?: number;
}

export interface MemoryCache extends Cache {
  /** What the cache holds now: entries and their estimated bytes. */
  held(): { entries: number; bytes: number };
}

/** Of the budget, the largest share one entry may take: a single answer never empties the cache of the others. */
const ENTRY_SHARE = 8;

export function memoryCache({ maxEntries = 10_000, maxBytes = 64_000_000 }: MemoryCacheOptions = {}): MemoryCache {
  /** Least recently used first: a Map iterates in insertion order, and a hit moves its entry to the end. */
  const entries = new Map<string, { json: string | undefined; value?: unknown; expires: number; bytes: number }>();
  let bytes = 0;
  const drop = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    bytes -= entry.bytes;
  };
  return {
    async get<T>(key: string) {
      const hit = entries.get(key);
      if (!hit) return undefined;
      if (hit.expires <= Date.now()) {
        drop(key);
        return undefined;
      }
      entries.delete(key);
      entries.set(key, hit);
      // A frozen private copy, made on the first hit (most entries are never read again), then shared by readers.
      if (!('value' in hit)) {
        hit.value = hit.json === undefined ? undefined : deepFreeze(JSON.parse(hit.json));
        hit.json = undefined;
      }
      return hit.value as T;
    },
    async set(key, value, ttlSeconds) {
      drop(key);
      // The JSON is both the size estimate and the private copy (values are JSON, as in the shared caches).
      const json = JSON.stringify(value);
      const size = estimateBytes(key, json);
      if (size > maxBytes / ENTRY_SHARE) return;
      entries.set(key, { json, expires: Date.now() + ttlSeconds * 1000, bytes: size });
      bytes += size;
      while (entries.size > maxEntries || bytes > maxBytes) drop(entries.keys().next().value as string);
    },
    async deletePrefix(prefix) {
      for (const key of entries.keys()) if (key.startsWith(prefix)) drop(key);
    },
    held: () => ({ entries: entries.size, bytes }),
  };
}

/** Two bytes per character of the key and the value as JSON, plus a little for the entry itself. */
function estimateBytes(key: string, json: string | undefined): number {
  return 2 * (key.length + (json?.length ?? 0)) + 64;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
