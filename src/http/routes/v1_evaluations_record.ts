import { createRoute } from '@hono/zod-openapi';
import { recordEvaluation } from '../../services/evaluations.js';
import { Evaluation, EvaluationBody } from '../../schemas/flows.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
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

export const registerV1EvaluationsRecord = (app: App) =>
  app.openapi(route, async (c) => c.json(await recordEvaluation(c.get('ctx'), c.req.valid('json')), 201));
