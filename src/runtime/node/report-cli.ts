// `npm run report -- strategies [--tenant <id>] [--agent <id>] [--since <date>] [--json]`: strategy variants compared
// on evaluation scores, success, tokens and overflow, read directly from the database (DATABASE_URL or DATA_DIR).
import { parseArgs } from 'node:util';
import { parseEnv } from '../../config/env.js';
import { createLogger } from '../../logger.js';
import type { StrategyReport } from '../../schemas/flows.js';
import { strategyReport } from '../../services/evaluations.js';
import { createNodeDeps, openStore } from './deps.js';
import { LOCAL_TENANT } from './local-key.js';

const usage = `usage:
  context-engine report strategies [--tenant <id>] [--agent <id>] [--since <ISO date>] [--json]
(in a checkout: npm run report -- …)`;

const fmt = (x: number | null, digits = 3) => (x === null ? '–' : x.toFixed(digits));
const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)} %`);

export function formatReport(report: StrategyReport): string {
  const header = [
    'strategy',
    'variant',
    'contexts',
    'evals',
    'score p50',
    'score p95',
    'low score',
    'success',
    'tool errors',
    'tokens',
    'overflow',
    'steps p95',
  ];
  const rows = report.variants.map((v) => [
    v.strategy,
    v.variant,
    String(v.contexts),
    String(v.evaluations),
    fmt(v.evaluation_overall_score_p50),
    fmt(v.evaluation_overall_score_p95),
    pct(v.low_score_rate),
    pct(v.task_success_rate),
    pct(v.tool_error_rate),
    fmt(v.mean_tokens, 0),
    pct(v.overflow_rate),
    fmt(v.trace_step_count_p95, 0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    `Strategy report${report.agent_id ? ` for agent ${report.agent_id}` : ''} (low score below ${report.low_score_threshold})`,
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
    rows.length ? '' : '(no contexts or evaluations yet)\n',
  ].join('\n');
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      tenant: { type: 'string', default: LOCAL_TENANT },
      agent: { type: 'string' },
      since: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command] = positionals;
  if (values.help || command !== 'strategies') {
    console.log(usage);
    process.exit(values.help ? 0 : 2);
  }
  if (values.since !== undefined && Number.isNaN(Date.parse(values.since)))
    throw new Error('--since must be a date, e.g. 2026-05-01');
  const env = parseEnv(process.env);
  const { store } = await openStore(env, 'npm run report');
  const deps = await createNodeDeps(env, { store, logger: createLogger('warn'), queue: 'memory' });
  try {
    const report = await strategyReport(deps, values.tenant!, { agentId: values.agent, since: values.since });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  } finally {
    await deps.close();
  }
}

main().catch((err: Error) => {
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
});
