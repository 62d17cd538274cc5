// Neon's SQL-over-HTTP driver for Workers: one HTTPS request per query, no connection to keep warm in an isolate.
// Migrations are not applied from here; `npm run migrate` applies them against DATABASE_URL before a deploy.
import { neon, neonConfig } from '@neondatabase/serverless';
import { drizzle } from 'drizzle-orm/neon-http';
import * as schema from '../../db/schema.js';
import { storeOf, type Db, type Store } from '../../db/store.js';

export function openNeon(url: string, opts: { fetchEndpoint?: string } = {}): Store {
  // The client ignores a per-call endpoint; only the global setting is honoured. It is set only when asked for
  // (local stand-ins), so production keeps the endpoint derived from the connection string.
  if (opts.fetchEndpoint) {
    const endpoint = opts.fetchEndpoint;
    neonConfig.fetchEndpoint = () => endpoint;
  }
  const db = drizzle({ client: neon(url), schema });
  // Nothing to close: every query is its own HTTP request.
  return storeOf(db as unknown as Db, 'neon', async () => {});
}
