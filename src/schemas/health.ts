import { z } from '@hono/zod-openapi';

/** GET /healthz: whether the service can reach its database. */
export const Health = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    database: z.string().openapi({ description: 'The store in use: pglite, postgres or neon.' }),
  })
  .openapi('Health', { example: { status: 'ok', database: 'pglite' } });
export type Health = z.infer<typeof Health>;
