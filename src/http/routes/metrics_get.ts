import { createRoute, z } from '@hono/zod-openapi';
import type { Deps } from '../../ports.js';
import type { App } from '../app.js';

// Unauthenticated like /healthz so a scraper needs no tenant key: the numbers carry no tenant data, only route
// patterns, statuses and sizes. Put the service behind a network boundary if even that must stay private.
const route = createRoute({
  operationId: 'getMetrics',
  method: 'get',
  path: '/metrics',
  tags: ['operations'],
  summary: 'Prometheus metrics',
  description:
    'Request latency and counts by route and status, compression duration and ratio, cache hits, queue results and lag, ' +
    'prompt sizes, overflows and dropped items, in the Prometheus text format. No key needed.',
  security: [],
  responses: {
    200: {
      description: 'Prometheus text exposition format 0.0.4',
      content: {
        'text/plain': {
          schema: z.string().openapi({
            example:
              '# HELP http_requests_total HTTP requests answered…\n# TYPE http_requests_total counter\nhttp_requests_total{route="/v1/sessions/:session_id/context",method="POST",status="200"} 3\n',
          }),
        },
      },
    },
  },
});

export const registerMetricsGet = (app: App, deps: Deps) =>
  app.openapi(route, (c) =>
    c.text(deps.metrics?.render() ?? '', 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
  );
