import { createRoute } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import type { Deps } from '../../ports.js';
import { Health } from '../../schemas/health.js';
import type { App } from '../app.js';

const route = createRoute({
  method: 'get',
  path: '/healthz',
  operationId: 'getHealth',
  tags: ['operations'],
  summary: 'Health: whether the service can reach its database',
  description: 'No key needed. Answers 503 with `status: "unavailable"` when the database does not answer.',
  security: [],
  responses: {
    200: { description: 'Healthy', content: { 'application/json': { schema: Health } } },
    503: {
      description: 'The database does not answer',
      content: { 'application/json': { schema: Health, example: { status: 'unavailable', database: 'postgres' } } },
    },
  },
});

export const registerHealthzGet = (app: App, deps: Deps) =>
  app.openapi(route, async (c) => {
    try {
      await deps.store.query(sql`SELECT 1`);
      return c.json({ status: 'ok' as const, database: deps.store.dialect }, 200);
    } catch {
      return c.json({ status: 'unavailable' as const, database: deps.store.dialect }, 503);
    }
  });
