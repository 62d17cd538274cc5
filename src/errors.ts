// One closed set of error codes, mapped to HTTP status in one place; every error body has the same shape.
import { z } from '@hono/zod-openapi';
import { causes, pgErrorCode } from './db/errors.js';

export const errorCodes = [
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'UNAVAILABLE',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export const statusOf = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const satisfies Record<ErrorCode, number>;

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  get status() {
    return statusOf[this.code];
  }
}

export const notFound = (what: string) => new ApiError('NOT_FOUND', `${what} not found`);

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(errorCodes).openapi({ example: 'BAD_REQUEST' }),
      message: z.string().openapi({ example: 'budget_tokens: Too small: expected number to be >0' }),
      request_id: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');
export type ErrorBody = z.infer<typeof ErrorBody>;

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/**
 * Maps a storage failure to an API error: an unreachable or overloaded database becomes `UNAVAILABLE` (503, so
 * clients retry), a data exception becomes `BAD_REQUEST` with a message of our own (the database's would quote the
 * value). Anything else stays unmapped (a 500 with its request id).
 */
export function fromStorageError(err: unknown): ApiError | undefined {
  for (const e of causes(err, 5)) {
    const code = (e as { code?: unknown }).code;
    // A drizzle query error's own message is the SQL and its parameters: stored text must not steer the mapping.
    const message = e instanceof Error && !e.message.startsWith('Failed query:') ? e.message : '';
    if (
      (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) ||
      /timeout exceeded when trying to connect|Connection terminated|connect ECONNREFUSED|fetch failed/i.test(message)
    )
      return new ApiError('UNAVAILABLE', 'the database is unavailable; retry shortly');
  }
  if (pgErrorCode(err)?.startsWith('22'))
    return new ApiError('BAD_REQUEST', 'a value in the request is malformed or out of range for storage');
  return undefined;
}
