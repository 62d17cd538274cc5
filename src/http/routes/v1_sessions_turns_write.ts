import { createRoute, z } from '@hono/zod-openapi';
import { contextAfterWrite } from '../../services/query-context.js';
import { writeTurns } from '../../services/write-turns.js';
import { SessionParams } from '../../schemas/common.js';
import { WriteTurnsBody, WriteTurnsResponse } from '../../schemas/turns.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';
import { checkScope, requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'writeTurns',
  method: 'post',
  path: '/v1/sessions/{session_id}/turns',
  tags: ['sessions'],
  summary: 'Write turns, optionally answered with the next context',
  description:
    'Appends a batch of turns in order. Creates the session on its first write, counts tokens, and queues compression ' +
    'when the window passes its limit. Send `Idempotency-Key` to make retries safe; turns with an `external_id` that ' +
    'is already stored are reported as duplicates instead of stored twice. With `return_context`, the answer also ' +
    'holds the context of the next model call (`context`), so an agent turn takes two calls: this write with the ' +
    "user's turn, then the write of the model's answer.",
  security,
  middleware: [requireScope('write')] as const,
  request: {
    params: SessionParams,
    headers: z.object({ 'idempotency-key': z.string().min(1).max(255).optional() }),
    body: jsonBody(WriteTurnsBody),
  },
  responses: { 201: jsonResponse(WriteTurnsResponse, 'Stored'), ...errorResponses },
});

export const registerV1SessionsTurnsWrite = (app: App) =>
  app.openapi(route, async (c) => {
    const ctx = c.get('ctx');
    const sessionId = c.req.valid('param').session_id;
    const body = c.req.valid('json');
    // The context is a read: a write-only key may not have it, and is refused before anything is stored.
    if (body.return_context) checkScope(c.get('principal').scopes, 'read');
    const { replayed, ...result } = await writeTurns(ctx, {
      sessionId,
      body,
      idempotencyKey: c.req.valid('header')['idempotency-key'],
    });
    if (replayed) c.header('Idempotent-Replayed', 'true');
    const context = body.return_context ? await contextAfterWrite(ctx, sessionId, body.return_context) : {};
    return c.json({ ...result, ...context }, 201);
  });
