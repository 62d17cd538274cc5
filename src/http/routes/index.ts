// Every route of the API, registered in one place so the whole surface is visible at a glance.
import pkg from '../../../package.json' with { type: 'json' };
import type { Deps } from '../../ports.js';
import { newApp, type App } from '../app.js';
import { documentExtras } from '../openapi-extras.js';
import { registerDocs } from './docs.js';
import { registerHealthzGet } from './healthz_get.js';
import { registerInspect } from './inspect.js';
import { registerMcp } from './mcp.js';
import { registerMetricsGet } from './metrics_get.js';
import { registerV1AdminKeysCreate } from './v1_admin_keys_create.js';
import { registerV1AdminKeysList } from './v1_admin_keys_list.js';
import { registerV1AdminKeysRevoke } from './v1_admin_keys_revoke.js';
import { registerV1AgentsList } from './v1_agents_list.js';
import { registerV1AgentsContextGet } from './v1_agents_context_get.js';
import { registerV1AgentsRegister } from './v1_agents_register.js';
import { registerV1AgentsTaskFlowsDelete } from './v1_agents_task_flows_delete.js';
import { registerV1AgentsTaskFlowsList } from './v1_agents_task_flows_list.js';
import { registerV1AgentsTaskFlowsPut } from './v1_agents_task_flows_put.js';
import { registerV1EvaluationsRecord } from './v1_evaluations_record.js';
import { registerV1EventsPublish } from './v1_events_publish.js';
import { registerV1MemoriesCreate } from './v1_memories_create.js';
import { registerV1MemoriesDelete } from './v1_memories_delete.js';
import { registerV1MemoriesList } from './v1_memories_list.js';
import { registerV1MemoriesSearch } from './v1_memories_search.js';
import { registerV1OwnersDelete } from './v1_owners_delete.js';
import { registerV1ReportsStrategiesGet } from './v1_reports_strategies_get.js';
import { registerV1SessionsCompactionsList } from './v1_sessions_compactions_list.js';
import { registerV1SessionsContextQuery } from './v1_sessions_context_query.js';
import { registerV1SessionsDelete } from './v1_sessions_delete.js';
import { registerV1SessionsList } from './v1_sessions_list.js';
import { registerV1SessionsGet } from './v1_sessions_get.js';
import { registerV1SessionsRebuild } from './v1_sessions_rebuild.js';
import { registerV1SessionsSearch } from './v1_sessions_search.js';
import { registerV1SessionsToolChainsRegister } from './v1_sessions_tool_chains_register.js';
import { registerV1SessionsToolChainsStepUpdate } from './v1_sessions_tool_chains_step_update.js';
import { registerV1SessionsTurnsList } from './v1_sessions_turns_list.js';
import { registerV1SessionsTurnsWrite } from './v1_sessions_turns_write.js';
import { registerV1UsersList } from './v1_users_list.js';
import { registerV1TracesGet } from './v1_traces_get.js';
import { registerV1TracesStepsAppend } from './v1_traces_steps_append.js';

/** In registration order, which is also the order of the OpenAPI document. */
const routes: ((app: App, deps: Deps) => unknown)[] = [
  registerV1SessionsTurnsWrite,
  registerV1SessionsTurnsList,
  registerV1SessionsContextQuery,
  registerV1SessionsRebuild,
  registerV1SessionsDelete,
  registerV1SessionsList,
  registerV1SessionsGet,
  registerV1SessionsSearch,
  registerV1SessionsCompactionsList,
  registerV1SessionsToolChainsRegister,
  registerV1SessionsToolChainsStepUpdate,
  registerV1UsersList,
  registerV1OwnersDelete,
  registerV1AgentsList,
  registerV1AgentsContextGet,
  registerV1AgentsRegister,
  registerV1AgentsTaskFlowsPut,
  registerV1AgentsTaskFlowsList,
  registerV1AgentsTaskFlowsDelete,
  registerV1TracesGet,
  registerV1TracesStepsAppend,
  registerV1EvaluationsRecord,
  registerV1ReportsStrategiesGet,
  registerV1MemoriesCreate,
  registerV1MemoriesList,
  registerV1MemoriesSearch,
  registerV1MemoriesDelete,
  registerV1EventsPublish,
  registerV1AdminKeysCreate,
  registerV1AdminKeysList,
  registerV1AdminKeysRevoke,
  // Operations and developer tools: /metrics and /healthz (no key), /mcp (bearer key), and the /docs and /inspect
  // pages (no key; they call the API).
  registerMetricsGet,
  registerMcp,
  registerDocs,
  registerInspect,
  registerHealthzGet,
];

export function buildApp(deps: Deps): App {
  const app = newApp(deps);
  for (const register of routes) register(app, deps);
  documentExtras(app);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Context engine API',
      version: pkg.version,
      description: 'Write what agents do; ask for the best context that fits a token budget.',
    },
  });
  return app;
}
