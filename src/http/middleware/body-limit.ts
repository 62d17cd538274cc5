// Request bodies over `limits.bodyBytes` are refused with 413 before anything reads them.
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { limits } from '../../config/tuning.js';
import type { AppEnv } from '../app-env.js';
import { errorResponse } from '../errors.js';

export function bodySizeLimit(): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: limits.bodyBytes,
    onError: (c) =>
      errorResponse(c.get('requestId'), 'PAYLOAD_TOO_LARGE', `request body is over ${limits.bodyBytes} bytes`),
  });
}
