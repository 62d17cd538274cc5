// Task flows end to end on both stores: precompute after writes, invalidation, signed and retried webhooks, traces of
// service and agent steps in order, and evaluation events of an A/B split in the strategy report.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inProcessQueue } from '../../src/adapters/queue/in-process.js';
import { createLogger } from '../../src/logger.js';
import type { DomainEvent, Job } from '../../src/ports.js';
import { sweepTraces } from '../../src/services/traces.js';
import { backends, harness, tenant, turns3, type Client, type Harness } from '../helpers.js';

const flow = {
  name: 'trip planner',
  model_calls: [
    { id: 'plan', model: 'gpt-4o-mini', template: 'default', budget_tokens: 600 },
    {
      id: 'answer',
      model: 'gpt-4o',
      template: 'compact',
      budget_tokens: 300,
      reserve_tokens: 50,
      section_weights: { recent_turns: 3 },
    },
  ],
};

async function agentWithFlow(c: Client, agentId: string, config: Record<string, unknown> = {}) {
  expect(
    (await c.call('POST', '/v1/agents', { agent_id: agentId, name: 'Planner', llm_provider: 'openai', config })).status,
  ).toBe(201);
  expect((await c.call('PUT', `/v1/agents/${agentId}/task-flows/trip`, flow)).status).toBe(201);
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let s = '';
    req.on('data', (d) => (s += d));
    req.on('end', () => resolve(s));
  });

describe.each(backends)('task flows on $name', ({ open }) => {
  let h: Harness;
  beforeAll(async () => {
    // The webhook receiver listens on loopback.
    h = await harness(open, { CONTEXT_WEBHOOK_ALLOW_PRIVATE: 'true' });
  });
  afterAll(async () => h.close());

  it('precomputes every model call after a write; a write or delete invalidates them', async () => {
    const c = await tenant(h);
    await agentWithFlow(c, 'planner');
    expect(
      (await c.call('POST', '/v1/sessions/f1/turns', { agent_id: 'planner', user_id: 'ada', turns: turns3 })).status,
    ).toBe(201);
    await h.deps.queue.drain();

    for (const [id, budget] of [
      ['plan', 600],
      ['answer', 250],
    ] as const) {
      const r = await c.call('POST', '/v1/sessions/f1/context', { model_call_id: id });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({
        source: 'precomputed',
        cached: true,
        model_call_id: id,
        session_version: 1,
        strategy: 'default',
        variant: 'default',
      });
      expect(r.json.token_count).toBeLessThanOrEqual(budget);
      expect(r.json.envelope.budget_report.budget_tokens).toBe(id === 'plan' ? 600 : 300);
      expect(r.json.rendered.text).toContain('Alfama');
    }

    // A write: the next call is from the new version (assembled live, or by the precompute the write queued if that
    // finished first), never served from the old one.
    await c.call('POST', '/v1/sessions/f1/turns', {
      turns: [{ role: 'user', content: 'Make that 140 euros per night.' }],
    });
    const live = await c.call('POST', '/v1/sessions/f1/context', { model_call_id: 'plan' });
    expect(live.json).toMatchObject({ session_version: 2 });
    expect(['live', 'precomputed']).toContain(live.json.source);
    expect(live.json.rendered.text).toContain('140 euros');
    await h.deps.queue.drain();
    expect((await c.call('POST', '/v1/sessions/f1/context', { model_call_id: 'answer' })).json).toMatchObject({
      source: 'precomputed',
      session_version: 2,
    });

    // A query of its own with a model call is assembled for it.
    const asked = await c.call('POST', '/v1/sessions/f1/context', {
      model_call_id: 'plan',
      query: 'What is the budget?',
    });
    expect(asked.json.source).toBe('live');
    expect(asked.json.rendered.text).toContain('140 euros');

    expect((await c.call('DELETE', '/v1/sessions/f1')).status).toBe(204);
    expect((await c.call('POST', '/v1/sessions/f1/context', { model_call_id: 'plan' })).status).toBe(404);
    await c.call('POST', '/v1/sessions/f1/turns', {
      agent_id: 'planner',
      turns: [{ role: 'user', content: 'A fresh start in Porto.' }],
    });
    const fresh = await c.call('POST', '/v1/sessions/f1/context', { model_call_id: 'plan' });
    expect(fresh.json.session_version).toBe(1);
    expect(fresh.json.rendered.text).not.toContain('Alfama');
  });

  it('validates agents, flows and model-call requests and stores nothing on refusal', async () => {
    const c = await tenant(h);
    expect((await c.call('PUT', '/v1/agents/ghost/task-flows/x', flow)).json.error.code).toBe('NOT_FOUND');
    await c.call('POST', '/v1/agents', { agent_id: 'v1' });
    const dup = await c.call('PUT', '/v1/agents/v1/task-flows/x', {
      model_calls: [flow.model_calls[0], flow.model_calls[0]],
    });
    expect(dup.status).toBe(400);
    expect(
      (
        await c.call('PUT', '/v1/agents/v1/task-flows/x', {
          model_calls: [{ id: 'a', model: 'm', budget_tokens: 10, reserve_tokens: 10 }],
        })
      ).status,
    ).toBe(400);
    expect((await c.call('PUT', '/v1/agents/v1/task-flows/x', { model_calls: [] })).status).toBe(400);
    expect((await c.call('POST', '/v1/agents', { agent_id: 'v2', config: { unknown: true } })).status).toBe(400);
    expect(
      (
        await c.call('POST', '/v1/agents', {
          agent_id: 'v2',
          config: { webhook: { url: 'ftp://x', secret: 'a'.repeat(20) } },
        })
      ).status,
    ).toBe(400);
    expect((await c.call('GET', '/v1/agents/v1/task-flows')).json.task_flows).toEqual([]);
    // Webhooks may not target the service's own network unless the operator allows it.
    h.deps.env.CONTEXT_WEBHOOK_ALLOW_PRIVATE = false;
    try {
      for (const url of [
        'http://127.0.0.1:8080/x',
        'http://localhost/x',
        'http://169.254.169.254/latest',
        'http://[::1]/x',
        'http://10.1.2.3/x',
        'http://192.168.0.9/x',
      ])
        expect(
          (await c.call('POST', '/v1/agents', { agent_id: 'v3', config: { webhook: { url, secret: 'a'.repeat(20) } } }))
            .status,
          url,
        ).toBe(400);
      expect(
        (
          await c.call('POST', '/v1/agents', {
            agent_id: 'v3',
            config: { webhook: { url: 'https://hooks.example.com/x', secret: 'a'.repeat(20) } },
          })
        ).status,
      ).toBe(201);
    } finally {
      h.deps.env.CONTEXT_WEBHOOK_ALLOW_PRIVATE = true;
    }

    await c.call('PUT', '/v1/agents/v1/task-flows/x', flow);
    await c.call('POST', '/v1/sessions/v-s/turns', { agent_id: 'v1', turns: turns3 });
    expect(
      (await c.call('POST', '/v1/sessions/v-s/context', { model_call_id: 'plan', budget_tokens: 100 })).status,
    ).toBe(400);
    expect((await c.call('POST', '/v1/sessions/v-s/context', { flow_id: 'x', budget_tokens: 100 })).status).toBe(400);
    expect((await c.call('POST', '/v1/sessions/v-s/context', {})).status).toBe(400);
    expect((await c.call('POST', '/v1/sessions/v-s/context', { model_call_id: 'nope' })).json.error.code).toBe(
      'NOT_FOUND',
    );
    expect(
      (await c.call('POST', '/v1/sessions/v-s/context', { model_call_id: 'plan', flow_id: 'y' })).json.error.code,
    ).toBe('NOT_FOUND');
    // The same call id in two flows needs flow_id.
    await c.call('PUT', '/v1/agents/v1/task-flows/y', flow);
    expect((await c.call('POST', '/v1/sessions/v-s/context', { model_call_id: 'plan' })).status).toBe(400);
    expect((await c.call('POST', '/v1/sessions/v-s/context', { model_call_id: 'plan', flow_id: 'y' })).status).toBe(
      200,
    );
    const flows = await c.call('GET', '/v1/agents/v1/task-flows');
    expect(flows.json.task_flows.map((f: any) => f.flow_id)).toEqual(['x', 'y']);
    expect(flows.json.task_flows[0].model_calls[1]).toMatchObject({
      id: 'answer',
      reserve_tokens: 50,
      section_weights: { recent_turns: 3 },
    });
    expect((await c.call('DELETE', '/v1/agents/v1/task-flows/y')).status).toBe(204);
    expect((await c.call('DELETE', '/v1/agents/v1/task-flows/y')).status).toBe(404);
    // Re-registering updates in place.
    const again = await c.call('POST', '/v1/agents', { agent_id: 'v1', name: 'Renamed' });
    expect(again.status).toBe(200);
    expect(again.json.name).toBe('Renamed');
  });

  /** A loopback receiver that answers its first delivery 503 (so the queue must deliver again), then 200. */
  async function receiver() {
    const received: { body: string; headers: Record<string, string>; status: number }[] = [];
    const server: Server = createServer(async (req, res) => {
      const body = await readBody(req);
      const status = received.length === 0 ? 503 : 200;
      received.push({ body, headers: req.headers as Record<string, string>, status });
      res.writeHead(status).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    return { url, received, close: () => new Promise((r) => server.close(r)) };
  }

  it('a legacy plain-text secret signs with its bytes: standardwebhooks verifies, the old header still comes', async () => {
    const c = await tenant(h);
    const secret = 'whsec-0123456789abcdef';
    const hook = await receiver();
    try {
      await agentWithFlow(c, 'legacy', { webhook: { url: hook.url, secret } });
      await c.call('POST', '/v1/sessions/l1/turns', { agent_id: 'legacy', turns: turns3 });
      await h.deps.queue.drain();
    } finally {
      await hook.close();
    }
    const delivered = hook.received[1]!;
    const wh = new Webhook(`whsec_${Buffer.from(secret).toString('base64')}`);
    expect(wh.verify(delivered.body, delivered.headers)).toMatchObject({ session_id: 'l1' });
    const [t, v1] = delivered.headers['x-context-signature']!.split(',').map((p) => p.split('=')[1]!);
    expect(t).toBe(delivered.headers['webhook-timestamp']);
    expect(v1).toBe(createHmac('sha256', secret).update(`${t}.${delivered.body}`).digest('hex'));
  });

  it('refuses a whsec_ secret that is not the base64 of 24 to 64 bytes', async () => {
    const c = await tenant(h);
    for (const secret of ['whsec_0123456789abcdef', `whsec_${'A'.repeat(31)}`, `whsec_${'A'.repeat(88)}==`]) {
      const r = await c.call('POST', '/v1/agents', {
        agent_id: 'bad',
        config: { webhook: { url: 'https://hooks.example.com/x', secret } },
      });
      expect(r.status, secret).toBe(400);
      expect(r.json.error.message).toContain('config.webhook.secret');
    }
  });

  it('announces precomputed contexts with a Standard Webhooks signed webhook, retried until accepted, and an event', async () => {
    const c = await tenant(h);
    const secret = `whsec_${Buffer.from('context-engine-test-key-0123456789').toString('base64')}`;
    const hook = await receiver();
    const received = hook.received;
    const events: DomainEvent[] = [];
    const previous = h.deps.events;
    h.deps.events = { publish: async (e) => void events.push(e) };
    try {
      await agentWithFlow(c, 'hooked', { webhook: { url: hook.url, secret } });
      const agent = await c.call('GET', '/v1/agents/hooked/context');
      expect(agent.json.config.webhook).toEqual({ url: hook.url });
      await c.call('POST', '/v1/sessions/w1/turns', { agent_id: 'hooked', turns: turns3 });
      await h.deps.queue.drain();
    } finally {
      h.deps.events = previous;
      await hook.close();
    }
    expect(received.map((r) => r.status)).toEqual([503, 200]);
    // The receiving side verifies with the standardwebhooks library; a retry carries the same webhook-id.
    const wh = new Webhook(secret);
    for (const r of received) expect(wh.verify(r.body, r.headers)).toMatchObject({ session_id: 'w1' });
    expect(received[1]!.headers['webhook-id']).toBe(received[0]!.headers['webhook-id']);
    expect(received[1]!.headers['x-context-signature']).toBeUndefined();
    const other = new Webhook(`whsec_${Buffer.from('another-key-of-the-same-length-0123').toString('base64')}`);
    expect(() => other.verify(received[1]!.body, received[1]!.headers)).toThrow(/signature/);
    expect(() => wh.verify(received[1]!.body.replace('w1', 'w2'), received[1]!.headers)).toThrow(/signature/);
    const stale = { ...received[1]!.headers, 'webhook-timestamp': String(Math.floor(Date.now() / 1000) - 3600) };
    expect(() => wh.verify(received[1]!.body, stale)).toThrow();
    const body = JSON.parse(received[1]!.body);
    expect(body).toMatchObject({
      type: 'context.precomputed',
      agent_id: 'hooked',
      session_id: 'w1',
      session_version: 1,
    });
    expect(body.model_calls.map((m: any) => m.model_call_id)).toEqual(['plan', 'answer']);
    // Only this tenant's events: jobs queued by earlier tests may still be running on the shared queue.
    expect(events.filter((e) => e.type === 'context.precomputed' && e.tenant_id === c.tenantId)).toEqual([
      expect.objectContaining({ session_id: 'w1', session_version: 1, model_call_ids: ['plan', 'answer'] }),
    ]);
  });

  it('a trace holds the service stages and then the agent steps, in order and bounded', async () => {
    const c = await tenant(h);
    await agentWithFlow(c, 'tracer');
    await c.call('POST', '/v1/sessions/t1/turns', { agent_id: 'tracer', turns: turns3 });
    // With a query of its own the call is assembled live, whether or not the precompute has finished.
    const q = await c.call('POST', '/v1/sessions/t1/context', { model_call_id: 'plan', query: 'Which neighbourhood?' });
    const rid = q.json.request_id;
    expect(rid).toBe(q.headers.get('x-request-id'));
    const steps = [
      {
        type: 'tool_call',
        name: 'search_apartments',
        content: 'x'.repeat(2000),
        status: 'ok',
        duration_ms: 120,
        data: { results: 3 },
      },
      { type: 'reasoning_step', content: 'Pick the one closest to Alfama.' },
      { type: 'validation', name: 'budget check', status: 'blocked' },
    ];
    expect((await c.call('POST', `/v1/traces/${rid}/steps`, { steps: steps.slice(0, 1) })).json.request_id).toBe(rid);
    const appended = await c.call('POST', `/v1/traces/${rid}/steps`, { steps: steps.slice(1) });
    expect(appended.status).toBe(201);

    const t = await c.call('GET', `/v1/traces/${rid}`);
    expect(t.status).toBe(200);
    expect(t.json).toMatchObject({
      request_id: rid,
      session_id: 't1',
      agent_id: 'tracer',
      model_call_id: 'plan',
      source: 'live',
    });
    const chain = t.json.steps;
    expect(chain.map((s: any) => s.seq)).toEqual(chain.map((_: unknown, i: number) => i + 1));
    expect(chain.map((s: any) => `${s.actor}:${s.type}`)).toEqual([
      'service:resolve',
      'service:cache',
      'service:retrieve',
      'service:rank',
      'service:plan',
      'service:assemble',
      'agent:tool_call',
      'agent:reasoning_step',
      'agent:validation',
    ]);
    expect(chain.find((s: any) => s.type === 'retrieve').data.candidates.recent_turns).toBeGreaterThan(0);
    expect(chain.find((s: any) => s.type === 'plan').data.sections.length).toBeGreaterThan(0);
    expect(chain.find((s: any) => s.type === 'cache').data.hit).toBe(false);
    expect(chain.every((s: any) => s.actor === 'agent' || typeof s.duration_ms === 'number')).toBe(true);
    const tool = chain.find((s: any) => s.type === 'tool_call');
    expect(tool).toMatchObject({ truncated: true, status: 'ok', data: { results: 3 } });
    expect(tool.preview).toHaveLength(h.deps.env.CONTEXT_TRACE_PREVIEW_CHARS);

    // Bounded: a batch that would pass max_trace_steps is refused whole.
    const max = h.deps.env.CONTEXT_MAX_TRACE_STEPS;
    const many = Array.from({ length: 100 }, () => ({ type: 'reasoning_step', content: 'step' }));
    let count = chain.length;
    while (count + 100 <= max)
      count = (await c.call('POST', `/v1/traces/${rid}/steps`, { steps: many })).json.step_count;
    const over = await c.call('POST', `/v1/traces/${rid}/steps`, { steps: many });
    expect(over.status).toBe(409);
    expect((await c.call('GET', `/v1/traces/${rid}`)).json.steps).toHaveLength(count);

    expect((await c.call('GET', '/v1/traces/no-such-request')).status).toBe(404);
    expect((await c.call('POST', '/v1/traces/no-such-request/steps', { steps: steps.slice(1) })).status).toBe(404);
    expect((await c.call('POST', `/v1/traces/${rid}/steps`, { steps: [{ type: 'thought' }] })).status).toBe(400);
    expect(
      (
        await c.call('POST', `/v1/traces/${rid}/steps`, {
          steps: [{ type: 'tool_call', data: { blob: 'y'.repeat(5000) } }],
        })
      ).status,
    ).toBe(400);

    // A plain query is traced too, and a precomputed answer says so.
    await h.deps.queue.drain();
    const hit = await c.call('POST', '/v1/sessions/t1/context', { model_call_id: 'answer' });
    const ht = await c.call('GET', `/v1/traces/${hit.json.request_id}`);
    expect(ht.json.source).toBe('precomputed');
    expect(ht.json.steps.find((s: any) => s.type === 'cache').data.hit).toBe(true);

    // Retention: the sweep deletes traces older than the retention period.
    const later = new Date(Date.now() + (h.deps.env.CONTEXT_TRACE_RETENTION_DAYS + 1) * 86_400_000);
    expect(await sweepTraces(h.deps, later)).toBeGreaterThanOrEqual(2);
    expect((await c.call('GET', `/v1/traces/${rid}`)).status).toBe(404);
  });

  it('a resumed session starts from the earlier session of the same user and agent, labelled by origin', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/r1/turns', {
      agent_id: 'travel',
      user_id: 'ada',
      metadata: { task: 'Book an apartment in Lisbon for May.' },
      turns: [{ role: 'system', content: 'Never book anything above 150 euros per night.' }, ...turns3],
    });
    const refused = [
      [{ resume_from: 'r1', agent_id: 'travel', user_id: 'bob' }, 409],
      [{ resume_from: 'r1', agent_id: 'billing', user_id: 'ada' }, 409],
      [{ resume_from: 'nope', agent_id: 'travel', user_id: 'ada' }, 404],
      [{ resume_from: 'r1' }, 400],
      [{ resume_from: 'r2', agent_id: 'travel', user_id: 'ada' }, 400],
    ] as const;
    for (const [extra, status] of refused) {
      const r = await c.call('POST', '/v1/sessions/r2/turns', {
        ...extra,
        turns: [{ role: 'user', content: 'Hi again.' }],
      });
      expect(r.status, JSON.stringify(extra)).toBe(status);
    }
    expect((await c.call('GET', '/v1/sessions/r2')).status).toBe(404);

    const w = await c.call('POST', '/v1/sessions/r2/turns', {
      resume_from: 'r1',
      agent_id: 'travel',
      user_id: 'ada',
      turns: [{ role: 'user', content: 'Hi again, where were we?' }],
    });
    expect(w.status).toBe(201);
    expect(w.json.resumed_from).toBe('r1');
    const ctx = await c.call('POST', '/v1/sessions/r2/context', { budget_tokens: 1000 });
    const text: string = ctx.json.rendered.text;
    expect(text).toContain('[from session r1: constraint] Never book anything above 150 euros per night.');
    expect(text).toContain('[from session r1: open task] Book an apartment in Lisbon for May.');
    expect(text).toMatch(/\[from session r1: summary\][\s\S]*Alfama/);
    expect(
      ctx.json.envelope.relevant_history.some(
        (x: any) => x.source === 'summary' && x.content.includes('from session r1'),
      ),
    ).toBe(true);
    expect((await c.call('GET', '/v1/sessions/r2')).json.metadata.resumed_from).toBe('r1');
    // Only the first write resumes.
    expect(
      (await c.call('POST', '/v1/sessions/r2/turns', { resume_from: 'r9', turns: [{ role: 'user', content: 'x' }] }))
        .status,
    ).toBe(409);

    // The agent's policy resumes from the latest earlier session without being asked.
    await c.call('POST', '/v1/agents', { agent_id: 'travel', config: { resume: 'latest' } });
    const policy = await c.call('POST', '/v1/sessions/r3/turns', {
      agent_id: 'travel',
      user_id: 'ada',
      turns: [{ role: 'user', content: 'Back again.' }],
    });
    expect(policy.json.resumed_from).toBe('r2');
    const other = await c.call('POST', '/v1/sessions/r4/turns', {
      agent_id: 'travel',
      user_id: 'eve',
      turns: [{ role: 'user', content: 'First time.' }],
    });
    expect(other.json.resumed_from).toBeUndefined();
    // A new-conversation event can name its source too.
    const event = await c.call('POST', '/v1/events', {
      type: 'conversation.new',
      session_id: 'r5',
      agent_id: 'travel',
      user_id: 'ada',
      resume_from: 'r1',
      turns: [{ role: 'user', content: 'Hello.' }],
    });
    expect(event.json.result.resumed_from).toBe('r1');
  });

  it('splits sessions across strategy variants and reports evaluation events per variant', async () => {
    const c = await tenant(h);
    await agentWithFlow(c, 'ab', {
      strategy: {
        name: 'recency-vs-history',
        variants: [
          { name: 'compact', weight: 1, template: 'compact' },
          { name: 'history', weight: 1, section_weights: { relevant_history: 5 } },
        ],
      },
    });
    const scoreOf = { compact: 0.9, history: 0.3 } as Record<string, number>;
    const seen = new Map<string, string>();
    const before = h.deps.metrics!.evaluations.get({ outcome: 'low_score' });
    for (let i = 0; i < 12; i++) {
      const s = `ab-${i}`;
      await c.call('POST', `/v1/sessions/${s}/turns`, { agent_id: 'ab', user_id: `u${i}`, turns: turns3 });
      const r = await c.call('POST', `/v1/sessions/${s}/context`, { model_call_id: 'plan' });
      expect(r.json.strategy).toBe('recency-vs-history');
      // A session keeps its variant.
      const again = await c.call('POST', `/v1/sessions/${s}/context`, { model_call_id: 'answer' });
      expect(again.json.variant).toBe(r.json.variant);
      seen.set(s, r.json.variant);
      const e = await c.call('POST', '/v1/evaluations', {
        request_id: r.json.request_id,
        overall_score: scoreOf[r.json.variant],
        task_success: r.json.variant === 'compact',
        tool_errors: i % 3 === 0 ? 1 : 0,
      });
      expect(e.status).toBe(201);
      expect(e.json).toMatchObject({
        strategy: 'recency-vs-history',
        variant: r.json.variant,
        low_score: r.json.variant === 'history',
      });
    }
    const counts = [...seen.values()].reduce((m, v) => m.set(v, (m.get(v) ?? 0) + 1), new Map<string, number>());
    expect([...counts.keys()].sort()).toEqual(['compact', 'history']);
    expect(h.deps.metrics!.evaluations.get({ outcome: 'low_score' }) - before).toBe(counts.get('history'));

    const report = await c.call('GET', '/v1/reports/strategies?agent_id=ab');
    expect(report.status).toBe(200);
    const byVariant = Object.fromEntries(report.json.variants.map((v: any) => [v.variant, v]));
    for (const v of ['compact', 'history']) {
      expect(byVariant[v]).toMatchObject({
        strategy: 'recency-vs-history',
        evaluations: counts.get(v),
        contexts: 2 * counts.get(v)!,
      });
      expect(byVariant[v].evaluation_overall_score_p50).toBeCloseTo(scoreOf[v]!, 5);
      expect(byVariant[v].mean_tokens).toBeGreaterThan(0);
      expect(byVariant[v].trace_step_count_p95).toBeGreaterThanOrEqual(2);
    }
    expect(byVariant.compact.task_success_rate).toBe(1);
    expect(byVariant.history.task_success_rate).toBe(0);
    expect(byVariant.compact.low_score_rate).toBe(0);
    expect(byVariant.history.low_score_rate).toBe(1);
    const errors = [...seen.keys()].filter((s) => Number(s.split('-')[1]) % 3 === 0);
    const expectedToolErrorRate = errors.filter((s) => seen.get(s) === 'compact').length / counts.get('compact')!;
    expect(byVariant.compact.tool_error_rate).toBeCloseTo(expectedToolErrorRate, 5);

    expect((await c.call('POST', '/v1/evaluations', { request_id: 'unknown', overall_score: 0.5 })).status).toBe(404);
    expect((await c.call('POST', '/v1/evaluations', { request_id: 'x', overall_score: 2 })).status).toBe(400);
    expect((await c.call('GET', '/v1/reports/strategies?agent_id=nobody')).json.variants).toEqual([]);
  });
});

describe('in-process queue coalescing', () => {
  it('runs only the newest precompute of a session; other sessions and jobs are untouched', async () => {
    const q = inProcessQueue(createLogger('silent'));
    const ran: string[] = [];
    const pre = (session: string, v: number): Job => ({
      kind: 'precompute',
      tenant_id: 't',
      session_id: session,
      session_version: v,
      job_id: `${session}${v}`,
    });
    for (const v of [1, 2, 3]) await q.send(pre('a', v));
    await q.send(pre('b', 1));
    await q.send({ kind: 'compress', mode: 'threshold', tenant_id: 't', session_id: 'a', job_id: 'c1' });
    await q.send(pre('a', 4));
    q.consume(async (job) => void ran.push(job.job_id));
    await q.drain();
    // Precomputes and threshold compressions wait for their session to go quiet, here released by the drain.
    expect(ran).toEqual(['b1', 'c1', 'a4']);
  });

  it('runs one threshold compression per burst of a session; rebuilds run as queued', async () => {
    vi.useFakeTimers();
    try {
      const q = inProcessQueue(createLogger('silent'), { precomputeQuietMs: 500, compactionMaxWaitMs: 1_000 });
      const ran: string[] = [];
      q.consume(async (job) => void ran.push(job.job_id));
      const compress = (session: string, id: string, mode: 'threshold' | 'rebuild' = 'threshold'): Job => ({
        kind: 'compress',
        mode,
        tenant_id: 't',
        session_id: session,
        job_id: id,
      });
      await q.send(compress('a', 'a1'));
      await q.send(compress('b', 'b1'));
      await q.send(compress('a', 'a2'));
      await q.send(compress('a', 'r1', 'rebuild'));
      await vi.advanceTimersByTimeAsync(0);
      expect(ran).toEqual(['r1']);
      await vi.advanceTimersByTimeAsync(550);
      expect(ran).toEqual(['r1', 'b1', 'a2']);

      // Writes every 300 ms: the compression still runs 1 s after the first of them, then once more after the last.
      for (let i = 1; i <= 6; i++) {
        await q.send(compress('c', `c${i}`));
        await vi.advanceTimersByTimeAsync(300);
      }
      expect(ran).toEqual(['r1', 'b1', 'a2', 'c4']);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(ran).toEqual(['r1', 'b1', 'a2', 'c4', 'c6']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('holds a precompute until writes to its session pause, and no longer than the max wait', async () => {
    vi.useFakeTimers();
    try {
      const q = inProcessQueue(createLogger('silent'), { precomputeQuietMs: 500, precomputeMaxWaitMs: 2_000 });
      const ran: string[] = [];
      q.consume(async (job) => void ran.push(job.job_id));
      const pre = (session: string, v: number): Job => ({
        kind: 'precompute',
        tenant_id: 't',
        session_id: session,
        session_version: v,
        job_id: `${session}${v}`,
      });
      await q.send(pre('a', 1));
      await vi.advanceTimersByTimeAsync(400);
      expect(ran).toEqual([]);
      // A write within the quiet time replaces the held job and restarts the wait.
      await q.send(pre('a', 2));
      await vi.advanceTimersByTimeAsync(400);
      expect(ran).toEqual([]);
      await vi.advanceTimersByTimeAsync(150);
      expect(ran).toEqual(['a2']);

      // Writes every 300 ms never leave 500 ms of quiet: the job still runs 2 s after the first of them.
      for (let v = 3; v <= 12; v++) {
        await q.send(pre('b', v));
        await vi.advanceTimersByTimeAsync(300);
      }
      expect(ran).toEqual(['a2', 'b9']);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(ran).toEqual(['a2', 'b9', 'b12']);
    } finally {
      vi.useRealTimers();
    }
  });
});
