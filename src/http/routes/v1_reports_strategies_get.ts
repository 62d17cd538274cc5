import { createRoute, z } from '@hono/zod-openapi';
import { strategyReport } from '../../services/evaluations.js';
import { Id, Timestamp } from '../../schemas/common.js';
import { StrategyReport } from '../../schemas/flows.js';
import { errorResponses, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'getStrategyReport',
  method: 'get',
  path: '/v1/reports/strategies',
  tags: ['evaluation'],
  summary: 'Compare context strategy variants on score, success, tokens and overflow rate',
  security,
  middleware: [requireScope('read')] as const,
  request: { query: z.object({ agent_id: Id.optional(), since: Timestamp.optional() }) },
  responses: { 200: jsonResponse(StrategyReport, 'The report'), ...errorResponses },
});

export const registerV1ReportsStrategiesGet = (app: App) =>
  app.openapi(route, async (c) => {
    const { agent_id, since } = c.req.valid('query');
    const ctx = c.get('ctx');
    return c.json(await strategyReport(ctx, ctx.tenantId, { agentId: agent_id, since }), 200);
  });
