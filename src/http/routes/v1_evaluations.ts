import { createRoute, z } from '@hono/zod-openapi';
import { recordEvaluation, strategyReport } from '../../services/evaluations.js';
import { Id, Timestamp } from '../../schemas/common.js';
import { Evaluation, EvaluationBody, StrategyReport } from '../../schemas/flows.js';
import { errorResponses, jsonBody, jsonResponse, requireScope, security, type App } from '../app.js';

const post = createRoute({
  operationId: 'recordEvaluation',
  method: 'post',
  path: '/v1/evaluations',
  tags: ['evaluation'],
  summary: 'Report how a context worked out (overall score, task success, validation blocked, tool errors)',
  description:
    'Attributed to the strategy and variant that produced the context of `request_id`. A score below the low-score ' +
    'threshold is logged as an alert and counted; it never blocks anything.',
  security,
  middleware: [requireScope('write')] as const,
  request: { body: jsonBody(EvaluationBody) },
  responses: { 201: jsonResponse(Evaluation, 'Recorded'), ...errorResponses },
});

const report = createRoute({
  operationId: 'strategyReport',
  method: 'get',
  path: '/v1/reports/strategies',
  tags: ['evaluation'],
  summary: 'Compare context strategy variants on score, success, tokens and overflow rate',
  security,
  middleware: [requireScope('read')] as const,
  request: { query: z.object({ agent_id: Id.optional(), since: Timestamp.optional() }) },
  responses: { 200: jsonResponse(StrategyReport, 'The report'), ...errorResponses },
});

export const registerV1Evaluations = (app: App) => {
  app.openapi(post, async (c) => c.json(await recordEvaluation(c.get('ctx'), c.req.valid('json')), 201));
  app.openapi(report, async (c) => {
    const { agent_id, since } = c.req.valid('query');
    const ctx = c.get('ctx');
    return c.json(await strategyReport(ctx, ctx.tenantId, { agentId: agent_id, since }), 200);
  });
};
