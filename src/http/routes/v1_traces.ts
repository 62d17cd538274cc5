import { createRoute } from '@hono/zod-openapi';
import { appendSteps, getTrace } from '../../services/traces.js';
import { RequestIdParams, Trace, TraceStepsAppended, TraceStepsBody } from '../../schemas/flows.js';
import { errorResponses, jsonBody, jsonResponse, requireScope, security, type App } from '../app.js';

const get = createRoute({
  operationId: 'getTrace',
  method: 'get',
  path: '/v1/traces/{request_id}',
  tags: ['traces'],
  summary: 'The trace of a QueryContext: service stages, then the steps the agent appended, in order',
  security,
  middleware: [requireScope('read')] as const,
  request: { params: RequestIdParams },
  responses: { 200: jsonResponse(Trace, 'The trace'), ...errorResponses },
});

const append = createRoute({
  operationId: 'appendTraceSteps',
  method: 'post',
  path: '/v1/traces/{request_id}/steps',
  tags: ['traces'],
  summary: "Append the agent's own steps (tool_call, reasoning_step, validation) to a context's trace",
  description: 'All steps land or none: a batch that would pass `max_trace_steps` is refused with 409. Content is kept as a truncated preview.',
  security,
  middleware: [requireScope('write')] as const,
  request: { params: RequestIdParams, body: jsonBody(TraceStepsBody) },
  responses: {
    201: jsonResponse(TraceStepsAppended, 'Appended'),
    ...errorResponses,
  },
});

export const registerV1Traces = (app: App) => {
  app.openapi(get, async (c) => c.json(await getTrace(c.get('ctx'), c.req.valid('param').request_id), 200));
  app.openapi(append, async (c) =>
    c.json(await appendSteps(c.get('ctx'), c.req.valid('param').request_id, c.req.valid('json')), 201),
  );
};
