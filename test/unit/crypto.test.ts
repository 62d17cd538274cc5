// Request hashes on Node, where sha256Hex uses Node's own SHA-256: the same hex as the JS hash (and as Web Crypto's in
// workerd, test/workers/crypto.test.ts), so cache keys and key lookups agree across runtimes.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/crypto.js';

describe('sha256Hex on Node', () => {
  it('gives the standard SHA-256, the same as the JS hash, for ASCII, multi-byte, lone surrogate and empty text', async () => {
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    for (const text of [
      '',
      'ctx_live_0123456789abcdef',
      '{"query":"héllo ✓ 日本 😀","budget_tokens":2000}',
      'a\uD800b',
    ])
      expect(await sha256Hex(text)).toBe(bytesToHex(sha256(utf8ToBytes(text))));
  });
});
