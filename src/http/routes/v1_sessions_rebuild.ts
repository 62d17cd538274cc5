import { createRoute } from '@hono/zod-openapi';
import { rebuildContext } from '../../services/rebuild-context.js';
import { SessionParams } from '../../schemas/common.js';
import { RebuildAccepted, RebuildBody } from '../../schemas/sessions.js';
import { errorResponses, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'rebuildContext',
  method: 'post',
  path: '/v1/sessions/{session_id}/rebuild',
  tags: ['sessions'],
  summary: 'Recompress a window from its stored turns',
  description:
    'Queues a rebuild of the window summary, optionally with another strategy or window size. Answers 202 at once.',
  security,
  middleware: [requireScope('write')] as const,
  request: {
    params: SessionParams,
    body: { required: false, content: { 'application/json': { schema: RebuildBody } } },
  },
  responses: { 202: jsonResponse(RebuildAccepted, 'Queued'), ...errorResponses },
});

export const registerV1SessionsRebuild = (app: App) =>
  app.openapi(route, async (c) => {
    const body = c.req.valid('json') ?? {};
    const out = await rebuildContext(c.get('ctx'), {
      sessionId: c.req.valid('param').session_id,
      strategy: body.strategy,
      maxTokens: body.max_tokens,
    });
    return c.json(out, 202);
  });
