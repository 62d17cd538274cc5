import { createRoute } from '@hono/zod-openapi';
import { listCompactions } from '../../services/session-reads.js';
import { SessionParams } from '../../schemas/common.js';
import { CompactionList } from '../../schemas/sessions.js';
import { errorResponses, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'listCompactions',
  method: 'get',
  path: '/v1/sessions/{session_id}/compactions',
  tags: ['sessions'],
  summary: 'Compaction audit timeline',
  description: 'Every compression of the window: turns folded, strategy, tokens before and after, and the output.',
  security,
  middleware: [requireScope('read')] as const,
  request: { params: SessionParams },
  responses: { 200: jsonResponse(CompactionList, 'Newest first'), ...errorResponses },
});

export const registerV1SessionsCompactionsList = (app: App) =>
  app.openapi(route, async (c) => c.json(await listCompactions(c.get('ctx'), c.req.valid('param').session_id), 200));
