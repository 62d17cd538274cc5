// /metrics: the Prometheus registry on its own, then every metric after real traffic (a write, queries, a compaction).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessQueue } from '../../src/adapters/queue/in-process.js';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { createLogger } from '../../src/logger.js';
import { Registry, createMetrics } from '../../src/metrics.js';
import { harness, tenant, turns3, type Harness } from '../helpers.js';

/** Sample lines as name{labels} → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

const value = (s: Map<string, number>, key: string) => {
  const v = s.get(key);
  if (v === undefined) throw new Error(`no sample ${key}; have:\n${[...s.keys()].join('\n')}`);
  return v;
};

describe('metrics registry', () => {
  it('writes the Prometheus text format with escaped labels and cumulative buckets', () => {
    const r = new Registry();
    const c = r.counter('things_total', 'Things.\nCounted.', ['kind']);
    const h = r.histogram('wait_seconds', 'Waits.', ['queue'], [0.1, 1]);
    c.inc({ kind: 'a "quoted" \\ name\nx' });
    c.inc({ kind: 'b' }, 2);
    h.observe({ queue: 'q' }, 0.05);
    h.observe({ queue: 'q' }, 0.5);
    h.observe({ queue: 'q' }, 5);
    expect(r.render()).toBe(
      [
        '# HELP things_total Things.\\nCounted.',
        '# TYPE things_total counter',
        'things_total{kind="a \\"quoted\\" \\\\ name\\nx"} 1',
        'things_total{kind="b"} 2',
        '# HELP wait_seconds Waits.',
        '# TYPE wait_seconds histogram',
        'wait_seconds_bucket{queue="q",le="0.1"} 1',
        'wait_seconds_bucket{queue="q",le="1"} 2',
        'wait_seconds_bucket{queue="q",le="+Inf"} 3',
        'wait_seconds_sum{queue="q"} 5.55',
        'wait_seconds_count{queue="q"} 3',
        '',
      ].join('\n'),
    );
    expect(() => c.inc({})).toThrow(/missing label "kind"/);
    expect(() => c.inc({ kind: 'b' }, -1)).toThrow(/only goes up/);
    expect(() => r.counter('things_total', 'again')).toThrow(/registered twice/);
  });

  it('counts queue retries and dead letters', async () => {
    const metrics = createMetrics();
    const q = inProcessQueue(createLogger('silent'), { maxAttempts: 2, baseDelayMs: 1, metrics });
    q.consume(async (job) => {
      if (job.session_id === 'bad') throw new Error('boom');
    });
    await q.send({ kind: 'compress', mode: 'threshold', tenant_id: 't', session_id: 'good', job_id: '1' });
    await q.send({ kind: 'compress', mode: 'threshold', tenant_id: 't', session_id: 'bad', job_id: '2' });
    await q.drain();
    const s = samples(metrics.render());
    expect(value(s, 'queue_jobs_total{result="ok"}')).toBe(1);
    expect(value(s, 'queue_jobs_total{result="retry"}')).toBe(1);
    expect(value(s, 'queue_jobs_total{result="dead"}')).toBe(1);
    expect(value(s, 'queue_lag_seconds_count')).toBe(3);
    q.stop();
  });
});

describe('GET /metrics', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(() => openPglite());
  });
  afterAll(async () => h.close());

  it('reports requests, contexts, the cache, compression and the queue after real traffic', async () => {
    const c = await tenant(h);
    const bigResult = Array.from(
      { length: 300 },
      (_, i) => `row ${i}: flight TP${1000 + i} to LIS at ${100 + i} euros`,
    ).join('\n');
    const filler = Array.from({ length: 20 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `Small talk ${i} about trams, tiles and the river.`,
    }));
    const write = await c.call('POST', '/v1/sessions/m1/turns', {
      turns: [
        ...turns3,
        {
          role: 'assistant',
          content: '',
          tool_calls: [{ id: 'call_1', name: 'search_flights', arguments: { to: 'LIS' } }],
        },
        { role: 'tool', name: 'search_flights', tool_call_id: 'call_1', content: bigResult },
        ...filler,
      ],
    });
    expect(write.status).toBe(201);
    // The write's precompute is held until the session has been quiet for a while; run it now.
    await h.deps.queue.drain();
    // Thirty recent turns cannot all fit 400 tokens: each assembly overflows.
    const q = { query: 'Which flight to Lisbon?', budget_tokens: 400, recent_turns: 30 };
    expect((await c.call('POST', '/v1/sessions/m1/context', q)).json.cached).toBe(false);
    expect((await c.call('POST', '/v1/sessions/m1/context', q)).json.cached).toBe(true);
    expect((await c.call('POST', '/v1/sessions/nope/context', q)).status).toBe(404);
    expect((await c.call('POST', '/v1/sessions/m1/rebuild', { strategy: 'truncate', max_tokens: 1000 })).status).toBe(
      202,
    );
    await h.deps.queue.drain();

    // A cache that fails counts as an error, and the answer is still assembled.
    const cache = h.deps.cache;
    h.deps.cache = {
      ...cache,
      get: async () => {
        throw new Error('cache down');
      },
    };
    try {
      expect((await c.call('POST', '/v1/sessions/m1/context', { ...q, budget_tokens: 401 })).status).toBe(200);
    } finally {
      h.deps.cache = cache;
    }

    const res = await h.app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    for (const name of [
      'http_request_duration_seconds',
      'http_requests_total',
      'context_compression_duration_seconds',
      'context_compression_ratio',
      'context_cache_requests_total',
      'queue_jobs_total',
      'queue_lag_seconds',
      'context_prompt_tokens',
      'context_overflow_total',
      'context_items_dropped_total',
      'tool_result_compression_ratio',
    ])
      expect(text).toContain(`# TYPE ${name} `);
    const s = samples(text);

    const query = '{route="/v1/sessions/:session_id/context",method="POST",status="200"}';
    expect(value(s, `http_requests_total${query}`)).toBe(3);
    expect(value(s, 'http_requests_total{route="/v1/sessions/:session_id/context",method="POST",status="404"}')).toBe(
      1,
    );
    expect(value(s, 'http_requests_total{route="/v1/sessions/:session_id/turns",method="POST",status="201"}')).toBe(1);
    expect(value(s, `http_request_duration_seconds_count${query}`)).toBe(3);
    expect(value(s, `http_request_duration_seconds_sum${query}`)).toBeGreaterThan(0);
    expect(
      value(
        s,
        'http_request_duration_seconds_bucket{route="/v1/sessions/:session_id/context",method="POST",status="200",le="+Inf"}',
      ),
    ).toBe(3);

    expect(value(s, 'context_cache_requests_total{result="miss"}')).toBe(1);
    expect(value(s, 'context_cache_requests_total{result="hit"}')).toBe(1);
    expect(value(s, 'context_cache_requests_total{result="error"}')).toBe(1);

    // Two fresh assemblies (the cached answer is not assembled again), each at most its budget.
    expect(value(s, 'context_prompt_tokens_count')).toBe(2);
    expect(value(s, 'context_prompt_tokens_sum')).toBeGreaterThan(100);
    expect(value(s, 'context_prompt_tokens_sum')).toBeLessThanOrEqual(801);
    expect(value(s, 'context_overflow_total')).toBe(2);
    expect(value(s, 'context_items_dropped_total{section="recent_turns",reason="over_budget"}')).toBeGreaterThan(0);

    // The 300-row tool result was cut to fit its share: shown tokens over stored tokens is well below 1.
    expect(value(s, 'tool_result_compression_ratio_count')).toBe(2);
    const ratio = value(s, 'tool_result_compression_ratio_sum') / 2;
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThan(0.5);

    expect(value(s, 'context_compression_duration_seconds_count')).toBe(1);
    expect(value(s, 'context_compression_duration_seconds_sum')).toBeGreaterThan(0);
    expect(value(s, 'context_compression_ratio_count')).toBe(1);
    expect(value(s, 'context_compression_ratio_sum')).toBeGreaterThan(0);
    expect(value(s, 'context_compression_ratio_sum')).toBeLessThan(1);
    // The write's precompute, the rebuild, and the precompute the rebuild queued for the rebuilt window.
    expect(value(s, 'queue_jobs_total{result="ok"}')).toBe(3);
    expect(value(s, 'queue_lag_seconds_count')).toBe(3);
    expect(value(s, 'queue_lag_seconds_sum')).toBeGreaterThanOrEqual(0);
  });

  it('labels unknown paths by no route, so ids never become series', async () => {
    await h.app.request('/no/such/path/12345');
    const s = samples(await (await h.app.request('/metrics')).text());
    expect(value(s, 'http_requests_total{route="unmatched",method="GET",status="404"}')).toBeGreaterThanOrEqual(1);
    expect([...s.keys()].some((k) => k.includes('12345'))).toBe(false);
  });
});
