import { createRoute } from '@hono/zod-openapi';
import { listTurns } from '../../services/session-reads.js';
import { SessionParams } from '../../schemas/common.js';
import { ListTurnsQuery, TurnList } from '../../schemas/sessions.js';
import { errorResponses, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'listTurns',
  method: 'get',
  path: '/v1/sessions/{session_id}/turns',
  tags: ['sessions'],
  summary: 'List stored turns in order',
  description:
    'Pages through every stored turn (compression never deletes turns). Pass `next_cursor` as `after_sequence`.',
  security,
  middleware: [requireScope('read')] as const,
  request: { params: SessionParams, query: ListTurnsQuery },
  responses: { 200: jsonResponse(TurnList, 'A page of turns'), ...errorResponses },
});

export const registerV1SessionsTurnsList = (app: App) =>
  app.openapi(route, async (c) =>
    c.json(await listTurns(c.get('ctx'), c.req.valid('param').session_id, c.req.valid('query')), 200),
  );
