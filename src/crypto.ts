// Hashes and tokens that work the same in Node and in Workers.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * SHA-256 of `text`, hex encoded. On Node synchronous: keys and request bodies are short, and Web Crypto's digest
 * costs a hop to a worker thread per call, on every request (key lookup, answer cache key); Node's own hash is native
 * and several times cheaper than hashing in JS. In Workers Web Crypto's digest is native code on the request's own
 * thread.
 */
export async function sha256Hex(text: string): Promise<string> {
  if (nativeDigest) return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8ToBytes(text))));
  if (nodeCrypto) return nodeCrypto.createHash('sha256').update(text, 'utf8').digest('hex');
  return bytesToHex(sha256(utf8ToBytes(text)));
}

const nativeDigest =
  (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === 'Cloudflare-Workers';

/** Node's crypto module where the runtime offers it without an import (`process.getBuiltinModule`, Node ≥ 20.16). */
interface NodeCrypto {
  createHash(algorithm: 'sha256'): { update(text: string, encoding: 'utf8'): { digest(encoding: 'hex'): string } };
}
const nodeCrypto = nativeDigest
  ? undefined
  : ((globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
      'node:crypto',
    ) as NodeCrypto | undefined);

export function randomToken(bytes = 24): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...buf))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/** HMAC-SHA256 of `text` under `secret`, hex encoded. */
export async function hmacSha256Hex(secret: string, text: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(text));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
