// The database path of recall across sessions uses indexes, not scans: every statement a user-scoped QueryContext
// runs on a large history (copies off) is explained on PGlite and PostgreSQL, and each has an index to read.
import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshStatistics } from '../../src/services/maintenance.js';
import { backends, harness, tenant, type Client, type Harness } from '../helpers.js';

const SESSIONS = 60;
const TURNS = 50;
const topics = ['trains', 'tickets', 'peanuts', 'Lisbon', 'pottery', 'running', 'camping', 'violin', 'garden', 'taxes'];

async function history(c: Client, user: string, agent: string, prefix: string) {
  for (let s = 0; s < SESSIONS; s++) {
    const turns = Array.from({ length: TURNS }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `${prefix} session ${s} turn ${i}: about ${topics[(s + i) % 10]} and ${topics[(s * 7 + i) % 10]} again`,
    }));
    if (s % 10 === 0) turns.unshift({ role: 'system', content: `Rule ${s}: keep answers short.` } as any);
    const r = await c.call('POST', `/v1/sessions/${prefix}-${s}/turns`, {
      turns,
      user_id: user,
      agent_id: agent,
      ...(s % 5 === 0 ? { metadata: { task: `task ${s}` } } : {}),
    });
    expect(r.status).toBe(201);
  }
}

describe.each(backends)('recall across sessions reads indexes on $name', ({ open }) => {
  let h: Harness;
  beforeAll(async () => {
    // Copies off: every read goes to the database.
    h = await harness(open, { CONTEXT_SESSION_COPY_MAX_TURNS: '0' });
  }, 120_000);
  afterAll(async () => h.close());

  it('explains every statement of a user-scoped query without a sequential scan of turns', async () => {
    const c = await tenant(h);
    await history(c, 'u1', 'a1', 'mine');
    await history(c, 'u2', 'a1', 'theirs');
    await refreshStatistics(h.deps);
    await h.deps.store.query(sql`ANALYZE turns`);
    await h.deps.store.query(sql`ANALYZE sessions`);
    // A first question reads the newest turns once for the word index kept in process (as a long session's does);
    // what is explained is a question from another new session after it, as every later one runs.
    const owner = { user_id: 'u1', agent_id: 'a1' };
    await c.call('POST', '/v1/sessions/first/turns', {
      turns: [{ role: 'user', content: 'And the trains?' }],
      ...owner,
    });
    expect(
      (await c.call('POST', '/v1/sessions/first/context', { query: 'And the trains?', budget_tokens: 1500 })).status,
    ).toBe(200);
    await c.call('POST', '/v1/sessions/ask/turns', {
      turns: [{ role: 'user', content: 'What about peanuts?' }],
      ...owner,
    });

    // Every statement, the reads sent uncounted included.
    const seen: SQL[] = [];
    const query = h.deps.store.query.bind(h.deps.store);
    const read = h.deps.store.read?.bind(h.deps.store);
    h.deps.store.query = ((q: SQL) => {
      seen.push(q);
      return query(q);
    }) as typeof h.deps.store.query;
    if (read)
      h.deps.store.read = ((q: SQL) => {
        seen.push(q);
        return read(q);
      }) as typeof read;
    let r;
    try {
      r = await c.call('POST', '/v1/sessions/ask/context', {
        query: 'What did we say about peanuts and pottery?',
        budget_tokens: 1500,
      });
    } finally {
      h.deps.store.query = query;
      if (read) h.deps.store.read = read;
    }
    expect(r.status).toBe(200);
    expect(r.json.rendered.text).toContain('mine session');
    expect(r.json.rendered.text).not.toContain('theirs session');

    // Planned with sequential scans priced out, as on a history large enough to need its indexes: on this small
    // table a scan can be the cheaper plan, but a statement no index serves still shows one.
    const plans: string[] = [];
    for (const q of seen) {
      const rows = await h.deps.store.db.transaction(async (tx) => {
        await tx.execute(sql`SET LOCAL enable_seqscan = off`);
        const result = await tx.execute(sql`EXPLAIN ${q}`);
        return ((result as { rows?: unknown[] }).rows ?? (result as unknown as unknown[])) as {
          'QUERY PLAN': string;
        }[];
      });
      plans.push(rows.map((x) => x['QUERY PLAN']).join('\n'));
    }
    const all = plans.join('\n---\n');
    expect(all, all).not.toMatch(/Seq Scan on turns/);
    expect(all).toMatch(/turns_history_sequence_idx|turns_tsv_idx/);
    expect(all).toContain('turns_history_system_idx');
    expect(all).toContain('user_histories');
  }, 120_000);
});
