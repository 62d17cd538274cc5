import { describe, expect, it } from 'vitest';
import { SessionMemo } from '../../src/pipeline/retriever/session-memo.js';

const s = (tenantId: string, id: string, created_at = '2025-01-01T00:00:00.000Z') => ({ tenantId, id, created_at });

describe('session memo', () => {
  it('drops the least recently used once over its bound; a get counts as a use, a peek does not', () => {
    const memo = new SessionMemo<string>((_, size) => size <= 3);
    memo.set(s('t', 'a'), '1', 'a1', 1);
    memo.set(s('t', 'a'), '2', 'a2', 1);
    memo.set(s('t', 'b'), '1', 'b1', 1);
    expect(memo.get(s('t', 'a'), '1')).toBe('a1');
    expect(memo.peek(s('t', 'a'), '2')).toBe('a2');
    memo.set(s('t', 'b'), '2', 'b2', 1); // over the bound: a2 is the least recently used
    expect(memo.peek(s('t', 'a'), '2')).toBeUndefined();
    expect(memo.stats()).toEqual({ entries: 3, size: 3 });
    // Replacing an entry replaces its size (and makes it the most recently used): b1 is now the oldest and goes.
    memo.set(s('t', 'b'), '2', 'b2+', 2);
    expect(memo.stats()).toEqual({ entries: 2, size: 3 });
    expect(memo.peek(s('t', 'b'), '1')).toBeUndefined();
    expect(memo.peek(s('t', 'a'), '1')).toBe('a1');
    expect(memo.peek(s('t', 'b'), '2')).toBe('b2+');
  });

  it('a per-call bound replaces the memo own for that call', () => {
    const memo = new SessionMemo<number>((entries) => entries <= 10);
    for (let i = 0; i < 4; i++) memo.set(s('t', `s${i}`), '', i, 10);
    memo.set(s('t', 's4'), '', 4, 25, (entries, size) => size <= 30 || entries <= 1);
    expect(memo.stats()).toEqual({ entries: 1, size: 25 });
    expect(memo.peek(s('t', 's4'))).toBe(4);
  });

  it('forgets every entry of one session and only that session; another creation time is another session', () => {
    const memo = new SessionMemo<string>(() => true);
    memo.set(s('t', 'b'), 'x', 'b', 1);
    memo.set(s('t', 'b', '2026-01-01T00:00:00.000Z'), 'x', 'b again', 1);
    memo.set(s('t', 'bc'), 'x', 'bc', 1);
    memo.set(s('u', 'b'), 'x', 'other tenant', 1);
    expect(memo.peek(s('t', 'b', '2026-01-01T00:00:00.000Z'), 'x')).toBe('b again');
    memo.forget('t', 'b');
    expect(memo.peek(s('t', 'b'), 'x')).toBeUndefined();
    expect(memo.peek(s('t', 'b', '2026-01-01T00:00:00.000Z'), 'x')).toBeUndefined();
    expect(memo.peek(s('t', 'bc'), 'x')).toBe('bc');
    expect(memo.peek(s('u', 'b'), 'x')).toBe('other tenant');
    expect(memo.stats()).toEqual({ entries: 2, size: 2 });
  });
});
