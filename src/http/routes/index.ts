// Every route of the API, registered in one place so the whole surface is visible at a glance.
import { sql } from 'drizzle-orm';
import type { Deps } from '../../ports.js';
import { newApp, type App } from '../app.js';
import { documentExtras } from '../openapi-extras.js';
import { registerDocs } from './docs.js';
import { registerInspect } from './inspect.js';
import { registerMcp } from './mcp.js';
import { registerMetricsGet } from './metrics_get.js';
import { registerV1AdminKeys } from './v1_admin_keys.js';
import { registerV1AgentsContextGet } from './v1_agents_context_get.js';
import { registerV1AgentsRegister } from './v1_agents_register.js';
import { registerV1AgentsTaskFlows } from './v1_agents_task_flows.js';
import { registerV1Evaluations } from './v1_evaluations.js';
import { registerV1EventsPublish } from './v1_events_publish.js';
import { registerV1Memories } from './v1_memories.js';
import { registerV1OwnersDelete } from './v1_owners_delete.js';
import { registerV1SessionsCompactionsList } from './v1_sessions_compactions_list.js';
import { registerV1SessionsContextQuery } from './v1_sessions_context_query.js';
import { registerV1SessionsDelete } from './v1_sessions_delete.js';
import { registerV1SessionsGet } from './v1_sessions_get.js';
import { registerV1SessionsRebuild } from './v1_sessions_rebuild.js';
import { registerV1SessionsSearch } from './v1_sessions_search.js';
import { registerV1SessionsToolChainsRegister } from './v1_sessions_tool_chains_register.js';
import { registerV1SessionsToolChainsStepUpdate } from './v1_sessions_tool_chains_step_update.js';
import { registerV1SessionsTurnsList } from './v1_sessions_turns_list.js';
import { registerV1SessionsTurnsWrite } from './v1_sessions_turns_write.js';
import { registerV1Traces } from './v1_traces.js';

const routes = [
  registerV1SessionsTurnsWrite,
  registerV1SessionsTurnsList,
  registerV1SessionsContextQuery,
  registerV1SessionsRebuild,
  registerV1SessionsDelete,
  registerV1SessionsGet,
  registerV1SessionsSearch,
  registerV1SessionsCompactionsList,
  registerV1SessionsToolChainsRegister,
  registerV1SessionsToolChainsStepUpdate,
  registerV1OwnersDelete,
  registerV1AgentsContextGet,
  registerV1AgentsRegister,
  registerV1AgentsTaskFlows,
  registerV1Traces,
  registerV1Evaluations,
  registerV1Memories,
  registerV1EventsPublish,
  registerV1AdminKeys,
];

export function buildApp(deps: Deps): App {
  const app = newApp(deps);
  app.get('/healthz', async (c) => {
    try {
      await deps.store.query(sql`SELECT 1`);
      return c.json({ status: 'ok', database: deps.store.dialect });
    } catch {
      return c.json({ status: 'unavailable', database: deps.store.dialect }, 503);
    }
  });
  for (const register of routes) register(app);
  // Developer tools: /metrics (no key), /mcp (bearer key), and the /docs and /inspect pages (no key; they call the API).
  registerMetricsGet(app, deps);
  registerMcp(app, deps);
  registerDocs(app);
  registerInspect(app);
  documentExtras(app);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Context engine API',
      version: '1.0.0',
      description: 'Write what agents do; ask for the best context that fits a token budget.',
    },
  });
  return app;
}
