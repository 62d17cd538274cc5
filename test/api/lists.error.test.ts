// Refused list and write requests: bad filters, limits and cursors, and a bad return_context, with nothing stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../src/schemas/common.js';
import { backends, harness, tenant, turns3, type Harness } from '../helpers.js';

describe.each(backends)('list and one-call turn errors on $name', ({ open }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(open);
  });
  afterAll(async () => h.close());

  it.each([
    ['/v1/sessions?limit=0', 'limit'],
    ['/v1/sessions?limit=201', 'limit'],
    ['/v1/sessions?user_id=a%20b', 'user_id'],
    ['/v1/sessions?agent_id=..', 'agent_id'],
    ['/v1/sessions?unknown=1', ''],
    ['/v1/sessions?cursor=not-a-cursor', 'cursor'],
    // Well-formed base64 JSON, but not a pair this API makes: an SQL fragment for a timestamp, a memory cursor.
    [`/v1/sessions?cursor=${encodeCursor(["2026-01-01' OR 1=1 --", 'x'])}`, 'cursor'],
    [
      `/v1/users?cursor=${encodeCursor(['2026-05-08T13:56:00.000Z', '5a8e2f4b-1c3d-4e5f-8a9b-0c1d2e3f4a5b'])}`,
      'cursor',
    ],
    ['/v1/agents?limit=abc', 'limit'],
    [`/v1/agents?cursor=${'A'.repeat(201)}`, 'cursor'],
  ])('GET %s is a 400 naming %s', async (path, field) => {
    const { call } = await tenant(h);
    const r = await call('GET', path);
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('BAD_REQUEST');
    expect(r.json.error.message).toContain(field);
  });

  it.each([
    [{ budget_tokens: 0 }, 'return_context.budget_tokens'],
    [{}, 'return_context.budget_tokens'],
    [{ budget_tokens: 100, reserve_tokens: 100 }, 'return_context.reserve_tokens'],
    [{ budget_tokens: 100, surprise: true }, 'return_context'],
    [{ model_call_id: 'c1', budget_tokens: 100 }, 'return_context.budget_tokens'],
  ])('refuses return_context %j by the QueryContext schema and stores nothing', async (returnContext, path) => {
    const { call } = await tenant(h);
    const r = await call('POST', '/v1/sessions/s/turns', { turns: turns3, return_context: returnContext });
    expect(r.status).toBe(400);
    expect(r.json.error.message.startsWith(path)).toBe(true);
    expect((await call('GET', '/v1/sessions/s')).status).toBe(404);
  });
});
