// Hostile-input guard for JSON bodies, run before validation. The same rule (`checkJsonInput`) checks MCP tool
// arguments and events read from Kafka.
import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../../errors.js';

export const MAX_JSON_DEPTH = 32;

// eslint-disable-next-line no-control-regex
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
// With the u flag a surrogate pair is one code point, so this matches only a surrogate that is not part of a pair.
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * The body must be JSON, valid UTF-8, not nested absurdly deep, and free of control characters that PostgreSQL
 * cannot store (NUL) or that only serve to hide text (other C0 controls besides tab, newline and carriage return),
 * and of lone surrogates (a `\ud800` escape parses to one; PostgreSQL refuses it in JSON and the drivers turn it into
 * U+FFFD in text). Each failure has a stable error code.
 */
export const inputGuard: MiddlewareHandler = async (c, next) => {
  if (!['POST', 'PUT', 'PATCH'].includes(c.req.method)) return next();
  const buf = await c.req.arrayBuffer();
  if (buf.byteLength === 0) return next();
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/(.+\+)?json\b/i.test(type))
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the body as JSON with "Content-Type: application/json"');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf);
  } catch {
    throw new ApiError('BAD_REQUEST', 'request body is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError('BAD_REQUEST', 'malformed JSON in request body');
  }
  checkJsonInput(value);
  // Validation reads the body again; hand it the text already decoded.
  (c.req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
  return next();
};

/** Throws BAD_REQUEST for a parsed JSON value the API refuses anywhere (see above); the message names the field. */
export function checkJsonInput(value: unknown): void {
  checkValue(value, 0, '');
}

/** A field path for messages: keys that are not plain names (caller-chosen text) are not echoed. */
const segment = (key: string) => (/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/.test(key) ? key : '*');

function checkValue(value: unknown, depth: number, path: string): void {
  if (depth > MAX_JSON_DEPTH) throw new ApiError('BAD_REQUEST', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (typeof value === 'string') {
    if (FORBIDDEN_CONTROL.test(value))
      throw new ApiError(
        'BAD_REQUEST',
        `${path || 'body'}: control characters are not allowed (tab, newline and carriage return are)`,
      );
    if (LONE_SURROGATE.test(value))
      throw new ApiError('BAD_REQUEST', `${path || 'body'}: text must be valid Unicode (a lone surrogate is not)`);
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ApiError('BAD_REQUEST', `${path || 'body'}: number out of range`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => checkValue(v, depth + 1, `${path}[${i}]`));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (FORBIDDEN_CONTROL.test(k))
        throw new ApiError('BAD_REQUEST', `${path || 'body'}: control characters in a key`);
      if (LONE_SURROGATE.test(k))
        throw new ApiError('BAD_REQUEST', `${path || 'body'}: a key must be valid Unicode (a lone surrogate is not)`);
      checkValue(v, depth + 1, path ? `${path}.${segment(k)}` : segment(k));
    }
  }
}
