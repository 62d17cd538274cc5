// QueryContext as OpenTelemetry spans: exported over OTLP/HTTP to a local receiver, one span per stage under the
// QueryContext span; nothing is made without an endpoint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { parseOtlpHeaders, tracesUrl } from '../../src/adapters/telemetry/otlp.js';
import { harness, tenant, turns3, type Client, type Harness } from '../helpers.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../otlp-receiver.js';

async function until<T>(read: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const nanos = (s: ReceivedSpan, end = false) => BigInt(end ? s.endTimeUnixNano : s.startTimeUnixNano);

describe('OpenTelemetry spans over OTLP/HTTP', () => {
  let receiver: OtlpReceiver;
  let h: Harness;
  let t: Client;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    h = await harness(() => openPglite(), {
      OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-key=s3cret%2Ckey,other=1',
      OTEL_SERVICE_NAME: 'engine-under-test',
    });
    t = await tenant(h);
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  const traceOf = (requestId: string) =>
    until(() => {
      const root = receiver.spans.find(
        (s) => s.name === 'QueryContext' && s.attributes['context_engine.request_id'] === requestId,
      );
      return root && { root, children: receiver.spans.filter((s) => s.parentSpanId === root.spanId) };
    });

  it('sends a QueryContext with its stage spans, GenAI attributes and no content', async () => {
    await t.client.writeTurns('otel-1', { turns: turns3 });
    const query = 'Where does Ada want to stay?';
    const answer = await t.client.queryContext('otel-1', { query, budget_tokens: 300 });
    await h.deps.tracing?.flush();
    const { root, children } = await traceOf(answer.request_id);

    expect(root.attributes).toMatchObject({
      'gen_ai.operation.name': 'retrieval',
      'gen_ai.conversation.id': 'otel-1',
      'context_engine.tenant_id': t.tenantId,
      'context_engine.budget_tokens': 300,
      'context_engine.token_count': answer.token_count,
      'context_engine.source': 'live',
      'context_engine.strategy': 'request',
    });
    expect(root.resource['service.name']).toBe('engine-under-test');
    expect(root.parentSpanId).toBeUndefined();
    expect(children.map((s) => s.name)).toEqual(['resolve', 'cache', 'retrieve', 'rank', 'plan', 'assemble']);
    for (const child of children) {
      expect(child.traceId).toBe(root.traceId);
      expect(child.attributes['context_engine.stage']).toBe(child.name);
      expect(nanos(child)).toBeGreaterThanOrEqual(nanos(root));
      expect(nanos(child, true)).toBeLessThanOrEqual(nanos(root, true));
    }
    // Stages follow each other and together span the whole call.
    expect(nanos(children[0]!)).toBe(nanos(root));
    expect(nanos(children.at(-1)!, true)).toBe(nanos(root, true));
    expect(Number(nanos(root, true) - nanos(root)) / 1e6).toBeGreaterThan(0);

    const sent = receiver.requests.map((r) => r.body).join('\n');
    expect(sent).not.toContain(query);
    expect(sent).not.toContain('Alfama');
    expect(receiver.requests[0]?.headers['x-collector-key']).toBe('s3cret,key');
  });

  it('marks an answer served from the cache, with its two stages', async () => {
    const answer = await t.client.queryContext('otel-1', { budget_tokens: 300 });
    const again = await t.client.queryContext('otel-1', { budget_tokens: 300 });
    expect(again.source).toBe('precomputed');
    await h.deps.tracing?.flush();
    const first = await traceOf(answer.request_id);
    const cached = await traceOf(again.request_id);
    expect(first.root.traceId).not.toBe(cached.root.traceId);
    expect(cached.root.attributes['context_engine.source']).toBe('precomputed');
    expect(cached.children.map((s) => s.name)).toEqual(['resolve', 'cache']);
  });

  it('makes no spans without an endpoint', async () => {
    const plain = await harness(() => openPglite());
    try {
      expect(plain.deps.tracing).toBeUndefined();
    } finally {
      await plain.close();
    }
  });

  it('reads the endpoint and headers as the OTel environment specification writes them', () => {
    expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe('http://collector:4318/v1/traces');
    expect(
      tracesUrl({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://x.example/otlp/traces',
      }),
    ).toBe('https://x.example/otlp/traces');
    expect(tracesUrl({})).toBeUndefined();
    expect(parseOtlpHeaders('a=1, b = two%20words ,broken')).toEqual({ a: '1', b: 'two words' });
  });
});
