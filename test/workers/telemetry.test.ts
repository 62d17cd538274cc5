// QueryContext spans from the Worker inside workerd: exported over OTLP/HTTP (fetch) in waitUntil after the request,
// to the receiver the stand-ins process runs.
import { describe, expect, it } from 'vitest';
import type { WorkerEnv } from '../../functions/env.js';
import { apiOn, newTenant, poll, uid, workerEnv } from './helpers.js';

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
}

const receiver = (workerEnv as unknown as { TEST_OTLP_RECEIVER_URL: string }).TEST_OTLP_RECEIVER_URL;
const env = {
  ...workerEnv,
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver,
  OTEL_SERVICE_NAME: 'engine-on-workers',
} as WorkerEnv;

describe('OpenTelemetry on Workers', () => {
  it('sends a QueryContext with its stage spans', async () => {
    const { key } = await newTenant('otel');
    const session = uid('otel');
    const turns = [
      { role: 'user', content: 'I am planning a trip to Lisbon in May.' },
      { role: 'assistant', content: 'Hotels or apartments?' },
    ];
    expect((await apiOn(env, key, 'POST', `/v1/sessions/${session}/turns`, { turns })).status).toBe(201);
    const answer = await apiOn(env, key, 'POST', `/v1/sessions/${session}/context`, {
      query: 'Where is the trip?',
      budget_tokens: 300,
    });
    expect(answer.status).toBe(200);

    const spans = await poll(
      async () => (await (await fetch(`${receiver}/spans`)).json()) as Span[],
      (all) => all.some((s) => s.attributes['context_engine.request_id'] === answer.body.request_id),
    );
    const root = spans.find((s) => s.attributes['context_engine.request_id'] === answer.body.request_id)!;
    expect(root.name).toBe('QueryContext');
    expect(root.resource['service.name']).toBe('engine-on-workers');
    expect(root.attributes).toMatchObject({ 'gen_ai.operation.name': 'retrieval', 'gen_ai.conversation.id': session });
    const children = spans.filter((s) => s.parentSpanId === root.spanId);
    expect(children.map((s) => s.name)).toEqual(['resolve', 'cache', 'retrieve', 'rank', 'plan', 'assemble']);
    for (const child of children) expect(child.traceId).toBe(root.traceId);
  });
});
