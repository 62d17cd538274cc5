// What a process remembers per session for the query path (copies, term matches, candidate rows), keyed by tenant,
// session and its creation time; least recently used go first past a bound, and all go when the session is deleted.

export interface MemoSession {
  tenantId: string;
  id: string;
  created_at: string;
}

/** Whether `entries` entries of `size` in all are within a memo's bound. */
export type MemoBound = (entries: number, size: number) => boolean;

/** Bytes V8 keeps for a string's characters: one a character when all are Latin-1, else two. */
export const stringBytes = (s: string): number => (/[^\u0000-\u00ff]/.test(s) ? 2 : 1) * s.length;

/**
 * `array` when it holds `needed` elements, else a new one (at least twice as long, and `min`) holding its first `used`:
 * a memo's numbers appended to one typed array instead of an array object each.
 */
export function withRoom<A extends Int8Array | Int32Array | Float32Array | Float64Array>(
  array: A,
  used: number,
  needed: number,
  min: number,
): A {
  if (needed <= array.length) return array;
  const grown = new (array.constructor as new (length: number) => A)(Math.max(needed, 2 * array.length, min));
  grown.set(array.subarray(0, used));
  return grown;
}

export class SessionMemo<V> {
  /** Least recently used first: a Map iterates in insertion order, and a use moves an entry to the end. */
  readonly #entries = new Map<string, { value: V; size: number }>();
  #size = 0;

  constructor(private readonly bound: MemoBound) {}

  static #sessionPrefix(tenantId: string, sessionId: string): string {
    return `${tenantId}\u0000${sessionId}\u0000`;
  }

  static #key(s: MemoSession, part: string): string {
    return `${SessionMemo.#sessionPrefix(s.tenantId, s.id)}${s.created_at}\u0000${part}`;
  }

  /** The entry, leaving its place in the order alone. */
  peek(s: MemoSession, part = ''): V | undefined {
    return this.#entries.get(SessionMemo.#key(s, part))?.value;
  }

  /** The entry, now the most recently used. */
  get(s: MemoSession, part = ''): V | undefined {
    const key = SessionMemo.#key(s, part);
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /**
   * Holds `value` (in place of the part's entry) as the most recently used, then drops the least recently used until
   * within the bound (`bound` overrides the memo's own, for bounds known only per call).
   */
  set(s: MemoSession, part: string, value: V, size: number, bound: MemoBound = this.bound): void {
    const key = SessionMemo.#key(s, part);
    const previous = this.#entries.get(key);
    if (previous) {
      this.#entries.delete(key);
      this.#size -= previous.size;
    }
    this.#entries.set(key, { value, size });
    this.#size += size;
    for (const [oldest, entry] of this.#entries) {
      if (bound(this.#entries.size, this.#size)) break;
      this.#entries.delete(oldest);
      this.#size -= entry.size;
    }
  }

  /** Drops every entry of a session (on deletion: its content must not outlive it here). */
  forget(tenantId: string, sessionId: string): void {
    const prefix = SessionMemo.#sessionPrefix(tenantId, sessionId);
    for (const [key, entry] of this.#entries) {
      if (key.startsWith(prefix)) {
        this.#entries.delete(key);
        this.#size -= entry.size;
      }
    }
  }

  /** The entries, least recently used first. */
  *leastRecent(): Generator<{ value: V; size: number }> {
    yield* this.#entries.values();
  }

  /** Entries held and their summed size. */
  stats(): { entries: number; size: number } {
    return { entries: this.#entries.size, size: this.#size };
  }
}
