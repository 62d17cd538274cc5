import { describe, expect, it } from 'vitest';
import { memoryCache } from '../../src/adapters/cache/memory.js';

describe('in-process cache', () => {
  it('keeps its own copy: neither the writer nor a reader can change what the next reader gets', async () => {
    const cache = memoryCache();
    const value = { a: { list: [1, 2] }, s: 'x' };
    await cache.set('k', value, 60);
    value.a.list.push(3);
    const hit = await cache.get<typeof value>('k');
    expect(hit).toEqual({ a: { list: [1, 2] }, s: 'x' });
    expect(() => hit!.a.list.push(4)).toThrow(TypeError);
    expect(() => {
      (hit as { s: string }).s = 'y';
    }).toThrow(TypeError);
    expect(await cache.get('k')).toEqual({ a: { list: [1, 2] }, s: 'x' });
  });
});

describe('in-process cache memory bound', () => {
  const entry = (i: number, chars: number) => ({ id: i, text: `${i}:`.padEnd(chars, 'x') });
  const maxBytes = 4_000_000;

  it('holds at most its byte budget of large entries, dropping the least recently used first', async () => {
    const cache = memoryCache({ maxBytes });
    // Each about 400 kB as estimated (two bytes a character): nine fit, a hundred would not.
    for (let i = 0; i < 100; i++) {
      await cache.set(`k${i}`, entry(i, 200_000), 60);
      if (i === 50) expect((await cache.get<{ id: number }>('k45'))?.id).toBe(45);
      expect(cache.held().bytes).toBeLessThanOrEqual(maxBytes);
    }
    expect(cache.held()).toMatchObject({ entries: 9 });
    expect(cache.held().bytes).toBeGreaterThan(maxBytes * 0.85);
    // The newest are kept; the oldest, and the one read long ago, are gone.
    for (let i = 91; i < 100; i++) expect((await cache.get<{ id: number }>(`k${i}`))?.id).toBe(i);
    for (const key of ['k0', 'k45', 'k90']) expect(await cache.get(key)).toBeUndefined();
  });

  it('keeps a recently read entry over newer ones', async () => {
    const cache = memoryCache({ maxBytes });
    for (let i = 0; i < 9; i++) await cache.set(`k${i}`, entry(i, 200_000), 60);
    expect(await cache.get('k0')).toBeDefined();
    await cache.set('k9', entry(9, 200_000), 60);
    await cache.set('k10', entry(10, 200_000), 60);
    expect(await cache.get('k0')).toBeDefined();
    expect(await cache.get('k1')).toBeUndefined();
    expect(await cache.get('k2')).toBeUndefined();
    expect(await cache.get('k3')).toBeDefined();
  });

  it('does not cache an entry over an eighth of the budget, and drops what was under its key', async () => {
    const cache = memoryCache({ maxBytes });
    await cache.set('small', entry(1, 1_000), 60);
    await cache.set('big', entry(2, 1_000), 60);
    await cache.set('big', entry(3, 260_000), 60);
    expect(await cache.get('big')).toBeUndefined();
    expect((await cache.get<{ id: number }>('small'))?.id).toBe(1);
    expect(cache.held().entries).toBe(1);
  });

  it('gives back the bytes of entries deleted by prefix', async () => {
    const cache = memoryCache({ maxBytes });
    await cache.set('s1:a', entry(1, 10_000), 60);
    await cache.set('s1:b', entry(2, 10_000), 60);
    await cache.set('s2:a', entry(3, 10_000), 60);
    const before = cache.held().bytes;
    await cache.deletePrefix('s1:');
    expect(cache.held().entries).toBe(1);
    expect(cache.held().bytes).toBeLessThan(before / 2);
  });
});
