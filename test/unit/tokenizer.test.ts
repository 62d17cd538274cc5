import { describe, expect, it } from 'vitest';
import { getTokenizer } from '../../src/tokenizer.js';

describe('tokenizer (o200k_base)', () => {
  it('counts tokens like the o200k encoding', async () => {
    const tok = await getTokenizer();
    expect(tok.count('')).toBe(0);
    expect(tok.count('hello world')).toBe(2);
    expect(tok.count('Lisbon in May is lovely.')).toBeGreaterThan(4);
  });

  it('loads the ranks once and returns the same instance', async () => {
    expect(await getTokenizer()).toBe(await getTokenizer());
  });

  it('truncates and tails on token boundaries without breaking characters', async () => {
    const tok = await getTokenizer();
    const text = 'naïve café — 東京 and 北京 '.repeat(20);
    for (const n of [1, 3, 7, 20]) {
      const head = tok.truncate(text, n);
      const tail = tok.tail(text, n);
      expect(tok.count(head)).toBeLessThanOrEqual(n);
      expect(tok.count(tail)).toBeLessThanOrEqual(n);
      expect(text.startsWith(head)).toBe(true);
      expect(text.endsWith(tail)).toBe(true);
      expect(head).not.toContain('\uFFFD');
      expect(tail).not.toContain('\uFFFD');
    }
    expect(tok.truncate('short', 10)).toBe('short');
    expect(tok.truncate('short', 0)).toBe('');
  });
});
