import { createRoute } from '@hono/zod-openapi';
import { handleEvent } from '../../services/events/handle.js';
import { EventAccepted, EventBody } from '../../schemas/events.js';
import { errorResponses, jsonBody, jsonResponse, security, type App } from '../app.js';
import { requireScope } from '../middleware/auth.js';

const route = createRoute({
  operationId: 'publishEvent',
  method: 'post',
  path: '/v1/events',
  tags: ['events'],
  summary: 'Deliver an event: new conversation, tool execution or memory update',
  description:
    'The seed’s events as typed bodies (`type`: `conversation.new`, `tool.executed`, `memory.updated`). The event is ' +
    'processed before the answer; redelivering an event with the same `event_id` changes nothing.',
  security,
  middleware: [requireScope('write')] as const,
  request: { body: jsonBody(EventBody) },
  responses: { 202: jsonResponse(EventAccepted, 'Processed'), ...errorResponses },
});

export const registerV1EventsPublish = (app: App) =>
  app.openapi(route, async (c) => c.json(await handleEvent(c.get('ctx'), c.req.valid('json')), 202));
