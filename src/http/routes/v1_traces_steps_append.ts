import { createRoute } from '@hono/zod-openapi';
import { appendSteps } from '../../services/traces.js';
import { RequestIdParams, TraceStepsAppended, TraceStepsBody } from '../../schemas/flows.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'appendTraceSteps',
  method: 'post',
  path: '/v1/traces/{request_id}/steps',
  tags: ['traces'],
  summary: "Append the agent's own steps (tool_call, reasoning_step, validation) to a context's trace",
  description:
    'All steps land or none: a batch that would pass `max_trace_steps` is refused with 409. ' +
    'Content is kept as a truncated preview.',
  security,
  middleware: [requireScope('write')] as const,
  request: { params: RequestIdParams, body: jsonBody(TraceStepsBody) },
  responses: {
    201: jsonResponse(TraceStepsAppended, 'Appended'),
    ...errorResponses,
  },
});

export const registerV1TracesStepsAppend = (app: App) =>
  app.openapi(route, async (c) =>
    c.json(await appendSteps(c.get('ctx'), c.req.valid('param').request_id, c.req.valid('json')), 201),
  );
