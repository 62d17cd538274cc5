// A write that deadlocks with a compaction of its session (the write holds the session row and waits for the window,
// the compaction the other way round) is aborted by PostgreSQL; the write runs again and lands whole, once.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { backends, harness, tenant, type Harness } from '../helpers.js';

describe('a write chosen as a deadlock victim', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(backends[1].open);
  });
  afterAll(() => h.close());

  it('is written again and answered 201', async () => {
    const c = await tenant(h);
    const first = await c.call('POST', '/v1/sessions/dl/turns', { turns: [{ role: 'user', content: 'one' }] });
    expect(first.status).toBe(201);
    // The compaction's order: the window row first, then the session row, in one transaction.
    const other = new pg.Client({ connectionString: inject('postgresUrl') });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`UPDATE context_windows SET summary = summary WHERE tenant_id = $1 AND session_id = 'dl'`, [
        c.tenantId,
      ]);
      // The write takes the session row, then waits for the window; it waits first, so it is the one aborted.
      const write = c.call('POST', '/v1/sessions/dl/turns', { turns: [{ role: 'user', content: 'two' }] });
      await new Promise((r) => setTimeout(r, 300));
      await other.query(`UPDATE sessions SET version = version WHERE tenant_id = $1 AND id = 'dl'`, [c.tenantId]);
      await other.query('COMMIT');
      const second = await write;
      expect(second.status, JSON.stringify(second.json)).toBe(201);
      expect(second.json.turns[0].sequence).toBe(2);
    } finally {
      await other.end();
    }
    const listed = await c.call('GET', '/v1/sessions/dl/turns');
    expect(listed.json.turns.map((t: { content: string }) => t.content)).toEqual(['one', 'two']);
  }, 30_000);
});
