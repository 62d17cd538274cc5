import { createRoute, z } from '@hono/zod-openapi';
import { writeTurns } from '../../services/write-turns.js';
import { SessionParams } from '../../schemas/common.js';
import { WriteTurnsBody, WriteTurnsResponse } from '../../schemas/turns.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'writeTurns',
  method: 'post',
  path: '/v1/sessions/{session_id}/turns',
  tags: ['sessions'],
  summary: 'Write turns (WriteQA)',
  description:
    'Appends a batch of turns in order. Creates the session on its first write, counts tokens, and queues compression ' +
    'when the window passes its limit. Send `Idempotency-Key` to make retries safe; turns with an `external_id` that ' +
    'is already stored are reported as duplicates instead of stored twice.',
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
    const { replayed, ...result } = await writeTurns(c.get('ctx'), {
      sessionId: c.req.valid('param').session_id,
      body: c.req.valid('json'),
      idempotencyKey: c.req.valid('header')['idempotency-key'],
    });
    if (replayed) c.header('Idempotent-Replayed', 'true');
    return c.json(result, 201);
  });
