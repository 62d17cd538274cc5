// The strategy report CLI against PostgreSQL: what the API recorded, read back by `npm run report -- strategies`.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openPostgres } from '../../src/adapters/store/postgres.js';
import { harness, tenant, turns3, type Harness } from '../helpers.js';

const runCli = (args: string[]) =>
  spawnSync(
    process.execPath,
    [path.resolve('node_modules/tsx/dist/cli.mjs'), 'src/runtime/node/report-cli.ts', ...args],
    {
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: inject('postgresUrl'), LOG_LEVEL: 'silent' },
    },
  );

describe('report CLI', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(() => openPostgres(inject('postgresUrl'), { migrate: false, max: 2 }));
  });
  afterAll(async () => h.close());

  it('prints the variants with their evaluation scores, as a table and as JSON', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/agents', {
      agent_id: 'cli',
      config: { strategy: { name: 'only', variants: [{ name: 'solo', weight: 1 }] } },
    });
    await c.call('PUT', '/v1/agents/cli/task-flows/f', { model_calls: [{ id: 'm', model: 'x', budget_tokens: 400 }] });
    for (const [i, score] of [0.2, 0.6, 1].entries()) {
      await c.call('POST', `/v1/sessions/cli-${i}/turns`, { agent_id: 'cli', turns: turns3 });
      const q = await c.call('POST', `/v1/sessions/cli-${i}/context`, { model_call_id: 'm' });
      expect(
        (
          await c.call('POST', '/v1/evaluations', {
            request_id: q.json.request_id,
            overall_score: score,
            task_success: score > 0.5,
          })
        ).status,
      ).toBe(201);
    }
    const json = runCli(['strategies', '--tenant', c.tenantId, '--agent', 'cli', '--json']);
    expect(json.status, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report.variants).toHaveLength(1);
    expect(report.variants[0]).toMatchObject({ strategy: 'only', variant: 'solo', contexts: 3, evaluations: 3 });
    expect(report.variants[0].evaluation_overall_score_p50).toBeCloseTo(0.6, 5);
    expect(report.variants[0].task_success_rate).toBeCloseTo(2 / 3, 5);

    const table = runCli(['strategies', '--tenant', c.tenantId]);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/\| only +\| solo +\| +3 \| +3 \| +0\.600 \|/);
    expect(runCli(['bogus']).status).toBe(2);
    expect(runCli(['strategies', '--since', 'yesterday']).status).toBe(1);
  }, 120_000);
});
