import { createRoute } from '@hono/zod-openapi';
import { searchHistory } from '../../services/session-reads.js';
import { SessionParams } from '../../schemas/common.js';
import { SearchHistoryBody, SearchHistoryResponse } from '../../schemas/sessions.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'searchHistory',
  method: 'post',
  path: '/v1/sessions/{session_id}/search',
  tags: ['sessions'],
  summary: 'Search a session’s history',
  description: 'Full-text search over every stored turn of the session, best match first.',
  security,
  middleware: [requireScope('read')] as const,
  request: { params: SessionParams, body: jsonBody(SearchHistoryBody) },
  responses: { 200: jsonResponse(SearchHistoryResponse, 'Matching turns'), ...errorResponses },
});

export const registerV1SessionsSearch = (app: App) =>
  app.openapi(route, async (c) =>
    c.json(await searchHistory(c.get('ctx'), c.req.valid('param').session_id, c.req.valid('json')), 200),
  );
