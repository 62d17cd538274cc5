import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, clientFor, harness, snapshot, tenant, turns3, type Harness } from '../helpers.js';

describe.each(backends)('error paths on $name', ({ open }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(open);
  });
  afterAll(async () => h.close());

  const expectError = (r: { status: number; json: any }, status: number, code: string) => {
    expect(r.status).toBe(status);
    expect(r.json.error.code).toBe(code);
    expect(typeof r.json.error.message).toBe('string');
    expect(r.json.error.request_id).toBeTruthy();
  };

  it('rejects bad writes with 4xx and stores nothing', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/s/turns', { turns: turns3 });
    const before = await snapshot(h.deps, c.tenantId);
    const cases: [string, number, string][] = [
      ['{"turns": [ {"role": ', 400, 'BAD_REQUEST'],
      [JSON.stringify({ turns: [{ role: 'wizard', content: 5 }] }), 400, 'BAD_REQUEST'],
      [JSON.stringify({ turns: [] }), 400, 'BAD_REQUEST'],
      [JSON.stringify({ turns: [{ role: 'user', content: 'ok' }], surprise: true }), 400, 'BAD_REQUEST'],
      [JSON.stringify({ turns: [{ role: 'user', content: 'ok', colour: 'red' }] }), 400, 'BAD_REQUEST'],
      [JSON.stringify({ turns: [{ role: 'tool', content: 'result without call id' }] }), 400, 'BAD_REQUEST'],
      [
        JSON.stringify({
          turns: [
            { role: 'user', content: 'fine' },
            { role: 'user', content: 12 },
          ],
        }),
        400,
        'BAD_REQUEST',
      ],
      [
        JSON.stringify({
          turns: [
            { role: 'user', content: 'a', external_id: 'x' },
            { role: 'user', content: 'b', external_id: 'x' },
          ],
        }),
        400,
        'BAD_REQUEST',
      ],
      [JSON.stringify({ turns: [{ role: 'user', content: 'x'.repeat(200_001) }] }), 400, 'BAD_REQUEST'],
      [
        JSON.stringify({ turns: Array.from({ length: 501 }, () => ({ role: 'user', content: 'x' })) }),
        400,
        'BAD_REQUEST',
      ],
      [JSON.stringify({ turns: [{ role: 'user', content: 'y'.repeat(2_100_000) }] }), 413, 'PAYLOAD_TOO_LARGE'],
      ['[]', 400, 'BAD_REQUEST'],
      ['null', 400, 'BAD_REQUEST'],
    ];
    for (const [body, status, code] of cases) {
      expectError(await c.raw('POST', '/v1/sessions/s/turns', body), status, code);
      expectError(await c.raw('POST', '/v1/sessions/fresh/turns', body), status, code);
    }
    expect(await snapshot(h.deps, c.tenantId)).toEqual(before);
    expectError(await c.call('GET', '/v1/sessions/fresh'), 404, 'NOT_FOUND');
  });

  it('rejects a bad session id in the path', async () => {
    const c = await tenant(h);
    expectError(await c.call('POST', '/v1/sessions/has%20space/turns', { turns: turns3 }), 400, 'BAD_REQUEST');
    expectError(await c.call('POST', `/v1/sessions/${'x'.repeat(129)}/turns`, { turns: turns3 }), 400, 'BAD_REQUEST');
    expect(await snapshot(h.deps, c.tenantId)).toMatchObject({ sessions: 0, turns: 0 });
  });

  it('rejects bad queries', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/q/turns', { turns: turns3 });
    const before = await snapshot(h.deps, c.tenantId);
    for (const body of [
      { query: 'x', budget_tokens: 0 },
      { query: 'x', budget_tokens: -5 },
      { query: 'x', budget_tokens: 1.5 },
      { query: 'x', budget_tokens: '100' },
      { query: 'x', budget_tokens: 1e12 },
      { query: 'x' },
      { query: 'x', budget_tokens: 100, reserve_tokens: 100 },
      { query: 'x', budget_tokens: 100, template: 'fancy' },
      { query: 42, budget_tokens: 100 },
    ])
      expectError(await c.call('POST', '/v1/sessions/q/context', body), 400, 'BAD_REQUEST');
    expectError(
      await c.call('POST', '/v1/sessions/missing/context', { query: 'x', budget_tokens: 100 }),
      404,
      'NOT_FOUND',
    );
    expectError(await c.call('POST', '/v1/sessions/missing/rebuild', {}), 404, 'NOT_FOUND');
    expectError(await c.call('GET', '/v1/sessions/missing/turns'), 404, 'NOT_FOUND');
    expectError(await c.call('DELETE', '/v1/sessions/missing'), 404, 'NOT_FOUND');
    expect(await snapshot(h.deps, c.tenantId)).toEqual(before);
  });

  it('requires a valid key and the right scope', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/k/turns', { turns: turns3 });
    const before = await snapshot(h.deps, c.tenantId);
    const res = await h.app.request('/v1/sessions/k/context', {
      method: 'POST',
      body: '{"budget_tokens":10}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as any).error.code).toBe('UNAUTHORIZED');
    expectError(
      await clientFor(h, c.tenantId, 'wrong-key').call('POST', '/v1/sessions/k/turns', { turns: turns3 }),
      401,
      'UNAUTHORIZED',
    );
    const reader = await tenant(h, ['read']);
    expectError(await reader.call('POST', '/v1/sessions/k/turns', { turns: turns3 }), 403, 'FORBIDDEN');
    expect(await snapshot(h.deps, c.tenantId)).toEqual(before);
    expect(await snapshot(h.deps, reader.tenantId)).toMatchObject({ sessions: 0, turns: 0 });
  });

  it('keeps tenants apart', async () => {
    const a = await tenant(h);
    const b = await tenant(h);
    await a.call('POST', '/v1/sessions/shared-name/turns', {
      turns: [{ role: 'user', content: 'Secret plan: codeword PELICAN.' }],
    });
    expectError(
      await b.call('POST', '/v1/sessions/shared-name/context', { query: 'codeword', budget_tokens: 500 }),
      404,
      'NOT_FOUND',
    );
    expectError(await b.call('DELETE', '/v1/sessions/shared-name'), 404, 'NOT_FOUND');
    await b.call('POST', '/v1/sessions/shared-name/turns', { turns: [{ role: 'user', content: 'Hello.' }] });
    const r = await b.call('POST', '/v1/sessions/shared-name/context', { query: 'codeword', budget_tokens: 500 });
    expect(JSON.stringify(r.json)).not.toContain('PELICAN');
    const still = await a.call('POST', '/v1/sessions/shared-name/context', { query: 'codeword', budget_tokens: 500 });
    expect(still.json.rendered.text).toContain('PELICAN');
  });

  it('answers unknown routes with the error shape', async () => {
    const c = await tenant(h);
    expectError(await c.call('GET', '/v1/nothing-here'), 404, 'NOT_FOUND');
  });
});
