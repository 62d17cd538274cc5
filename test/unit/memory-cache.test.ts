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
