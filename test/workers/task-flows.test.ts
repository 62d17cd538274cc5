// Task flows in workerd through the real Worker and its queue consumer: model calls precomputed after a write,
// invalidated by a write or delete, signed webhooks retried, traces, and evaluations in the strategy report.
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import worker from '../../functions/worker.js';
import type { WebhookJob } from '../../src/ports.js';
import { api, newTenant, poll, uid, waitForPrecomputed, workerEnv } from './helpers.js';

const turns = [
  { role: 'user', content: 'My name is Ada and I am planning a trip to Lisbon in May.' },
  { role: 'assistant', content: 'Lisbon in May is lovely. Would you prefer a hotel or an apartment?' },
  { role: 'user', content: 'An apartment near Alfama, and my budget is 2000 euros for the week.' },
];
const flow = {
  model_calls: [
    { id: 'plan', model: 'gpt-4o-mini', budget_tokens: 600 },
    { id: 'answer', model: 'gpt-4o', template: 'compact', budget_tokens: 300, section_weights: { recent_turns: 3 } },
  ],
};
const receiver = (workerEnv as unknown as { TEST_WEBHOOK_RECEIVER_URL: string }).TEST_WEBHOOK_RECEIVER_URL;
// A Standard Webhooks secret: `whsec_` and the base64 of 24 random bytes.
const SECRET = 'whsec_Wk9SS0VSUy10ZXN0LWtleS0wMTIzNDU2Nzg5';
const receiving = new Webhook(SECRET);

const deliveries = async (path: string) =>
  (await (await fetch(`${receiver}/deliveries${path}`)).json()) as {
    body: string;
    headers: Record<string, string>;
    status: number;
  }[];

afterEach(() => {
  vi.restoreAllMocks();
});

describe('task flows in workerd', () => {
  it('precomputes both model calls after a write; a write or delete invalidates them; the webhook is signed', async () => {
    const { tenantId, key } = await newTenant('flow');
    const hookPath = `/ok/${uid('hook')}`;
    expect(
      (
        await api(key, 'POST', '/v1/agents', {
          agent_id: 'planner',
          config: { webhook: { url: `${receiver}${hookPath}`, secret: SECRET } },
        })
      ).status,
    ).toBe(201);
    expect((await api(key, 'PUT', '/v1/agents/planner/task-flows/trip', flow)).status).toBe(201);
    const session = uid('sess');
    expect((await api(key, 'POST', `/v1/sessions/${session}/turns`, { agent_id: 'planner', turns })).status).toBe(201);

    await waitForPrecomputed(tenantId, session, 1, 3);
    for (const id of ['plan', 'answer']) {
      const r = await api(key, 'POST', `/v1/sessions/${session}/context`, { model_call_id: id });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ source: 'precomputed', model_call_id: id, session_version: 1 });
      expect(r.body.rendered.text).toContain('Alfama');
    }
    const [delivery] = await poll(
      () => deliveries(hookPath),
      (d) => d.length > 0,
    );
    expect(receiving.verify(delivery!.body, delivery!.headers)).toMatchObject({ type: 'context.precomputed' });
    expect(JSON.parse(delivery!.body)).toMatchObject({
      type: 'context.precomputed',
      session_id: session,
      session_version: 1,
    });

    await api(key, 'POST', `/v1/sessions/${session}/turns`, {
      turns: [{ role: 'user', content: 'Update: the budget is now 2500 euros.' }],
    });
    const live = await api(key, 'POST', `/v1/sessions/${session}/context`, { model_call_id: 'plan' });
    expect(live.body).toMatchObject({ source: 'live', session_version: 2 });
    expect(live.body.rendered.text).toContain('2500 euros');

    expect((await api(key, 'DELETE', `/v1/sessions/${session}`)).status).toBe(204);
    expect((await api(key, 'POST', `/v1/sessions/${session}/context`, { model_call_id: 'answer' })).status).toBe(404);
  });

  it('a failed webhook delivery is retried by the queue with backoff, then acked', async () => {
    const { tenantId, key } = await newTenant('hook');
    const hookPath = `/fail-first/${uid('hook')}`;
    await api(key, 'POST', '/v1/agents', {
      agent_id: 'hooked',
      config: { webhook: { url: `${receiver}${hookPath}`, secret: SECRET } },
    });
    const session = uid('sess');
    await api(key, 'POST', `/v1/sessions/${session}/turns`, { agent_id: 'hooked', turns });
    const job: WebhookJob = {
      kind: 'webhook',
      tenant_id: tenantId,
      session_id: session,
      job_id: crypto.randomUUID(),
      agent_id: 'hooked',
      session_version: 1,
      model_calls: [{ flow_id: 'trip', model_call_id: 'plan', token_count: 100 }],
    };
    const deliver = async (attempts: number) => {
      const batch = createMessageBatch('context-jobs', [
        { id: `m-${attempts}`, timestamp: new Date(), attempts, body: job },
      ]);
      const retry = vi.spyOn(batch.messages[0]!, 'retry');
      const ctx = createExecutionContext();
      await worker.queue(batch, workerEnv);
      return { result: await getQueueResult(batch, ctx), retry };
    };
    const first = await deliver(1);
    expect(first.result.retryMessages).toHaveLength(1);
    expect(first.retry).toHaveBeenCalledWith({ delaySeconds: 10 });
    const second = await deliver(2);
    expect(second.result.retryMessages).toEqual([]);
    expect(second.result.explicitAcks).toHaveLength(1);
    const got = await deliveries(hookPath);
    expect(got.map((d) => d.status)).toEqual([503, 200]);
    for (const d of got) expect(receiving.verify(d.body, d.headers)).toMatchObject({ type: 'context.precomputed' });
    expect(got[1]!.headers['webhook-id']).toBe(got[0]!.headers['webhook-id']);
  });

  it('records a trace with service and agent steps, and reports A/B evaluation events', async () => {
    const { key } = await newTenant('ab');
    await api(key, 'POST', '/v1/agents', {
      agent_id: 'ab',
      config: {
        strategy: {
          name: 'split',
          variants: [
            { name: 'a', weight: 1 },
            { name: 'b', weight: 1, template: 'compact' },
          ],
        },
      },
    });
    await api(key, 'PUT', '/v1/agents/ab/task-flows/trip', flow);
    const variants = new Set<string>();
    let rid = '';
    for (let i = 0; i < 8; i++) {
      const session = uid('sess');
      await api(key, 'POST', `/v1/sessions/${session}/turns`, { agent_id: 'ab', turns });
      const r = await api(key, 'POST', `/v1/sessions/${session}/context`, { model_call_id: 'plan' });
      variants.add(r.body.variant);
      rid = r.body.request_id;
      expect(
        (
          await api(key, 'POST', '/v1/evaluations', {
            request_id: rid,
            overall_score: r.body.variant === 'a' ? 0.9 : 0.4,
            task_success: true,
          })
        ).status,
      ).toBe(201);
    }
    expect(
      (
        await api(key, 'POST', `/v1/traces/${rid}/steps`, {
          steps: [
            { type: 'tool_call', name: 'book' },
            { type: 'validation', status: 'ok' },
          ],
        })
      ).status,
    ).toBe(201);
    const trace = await api(key, 'GET', `/v1/traces/${rid}`);
    const chain = trace.body.steps.map((s: any) => `${s.actor}:${s.type}`);
    expect(chain[0]).toBe('service:resolve');
    expect(chain.slice(-2)).toEqual(['agent:tool_call', 'agent:validation']);

    const report = await api(key, 'GET', '/v1/reports/strategies?agent_id=ab');
    expect(report.status).toBe(200);
    expect(report.body.variants.map((v: any) => v.variant).sort()).toEqual([...variants].sort());
    expect(report.body.variants.reduce((s: number, v: any) => s + v.evaluations, 0)).toBe(8);
    for (const v of report.body.variants)
      expect(v.evaluation_overall_score_p50).toBeCloseTo(v.variant === 'a' ? 0.9 : 0.4, 5);
  });

  it("a resumed session carries the earlier session's summary and constraints", async () => {
    const { key } = await newTenant('resume');
    const first = uid('sess');
    const second = uid('sess');
    await api(key, 'POST', `/v1/sessions/${first}/turns`, {
      agent_id: 'travel',
      user_id: 'ada',
      turns: [{ role: 'system', content: 'Never book above 150 euros per night.' }, ...turns],
    });
    const w = await api(key, 'POST', `/v1/sessions/${second}/turns`, {
      resume_from: first,
      agent_id: 'travel',
      user_id: 'ada',
      turns: [{ role: 'user', content: 'Hi again.' }],
    });
    expect(w.status).toBe(201);
    expect(w.body.resumed_from).toBe(first);
    const ctx = await api(key, 'POST', `/v1/sessions/${second}/context`, { budget_tokens: 1000 });
    expect(ctx.body.rendered.text).toContain(
      `[from session ${first}: constraint] Never book above 150 euros per night.`,
    );
    expect(ctx.body.rendered.text).toMatch(new RegExp(`\\[from session ${first}: summary\\][\\s\\S]*Alfama`));
  });
});
