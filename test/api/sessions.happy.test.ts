import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, harness, tenant, turns3, type Harness } from '../helpers.js';

describe.each(backends)('sessions on $name', ({ open }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(open);
  });
  afterAll(async () => h.close());

  it('writes turns in order with token counts and creates the session once', async () => {
    const c = await tenant(h);
    const first = await c.call('POST', '/v1/sessions/s1/turns', { turns: turns3 });
    expect(first.status).toBe(201);
    expect(first.json.session_created).toBe(true);
    expect(first.json.turns.map((t: any) => t.sequence)).toEqual([1, 2, 3]);
    for (const t of first.json.turns) expect(t.token_count).toBeGreaterThan(5);
    const second = await c.call('POST', '/v1/sessions/s1/turns', { turns: [{ role: 'user', content: 'And a museum pass.' }] });
    expect(second.json.session_created).toBe(false);
    expect(second.json.turns[0].sequence).toBe(4);
    expect(second.json.total_tokens).toBe(first.json.total_tokens + second.json.turns[0].token_count);
    const list = await c.call('GET', '/v1/sessions/s1/turns?limit=3');
    expect(list.json.turns.map((t: any) => t.content)).toEqual(turns3.map((t) => t.content));
    expect(list.json.next_cursor).toBe('3');
    const rest = await c.call('GET', `/v1/sessions/s1/turns?after_sequence=${list.json.next_cursor}`);
    expect(rest.json.turns.map((t: any) => t.sequence)).toEqual([4]);
    expect(rest.json.next_cursor).toBeNull();
  });

  it('answers a query with an envelope that fits the budget and explains itself', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/trip/turns', { turns: turns3 });
    for (const budget of [1000, 200, 60, 25]) {
      const r = await c.call('POST', '/v1/sessions/trip/context', { query: 'Where does Ada want to stay?', budget_tokens: budget });
      expect(r.status).toBe(200);
      expect(r.json.token_count).toBeLessThanOrEqual(budget);
      const { tokenizer } = h.deps;
      expect(tokenizer.count(r.json.rendered.text)).toBe(r.json.token_count);
      const report = r.json.envelope.budget_report;
      expect(report.budget_tokens).toBe(budget);
      expect(report.sections.map((s: any) => s.section)).toEqual([
        'task_anchor', 'hard_constraints', 'recent_turns', 'relevant_history', 'tool_findings', 'retrieved_memory', 'summary',
      ]);
      for (const s of report.sections) expect(typeof s.note).toBe('string');
      if (budget === 1000) {
        expect(r.json.rendered.text).toContain('Alfama');
        expect(r.json.envelope.task_summary).toContain('Lisbon');
        expect(r.json.envelope.relevant_history.some((x: any) => x.content.includes('Alfama'))).toBe(true);
      }
    }
  });

  it('finds an old relevant turn by full-text search when recent turns do not hold it', async () => {
    const c = await tenant(h);
    const filler = Array.from({ length: 40 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `Small talk number ${i} about the weather and nothing much.` }));
    await c.call('POST', '/v1/sessions/long/turns', {
      turns: [{ role: 'user', content: 'Start planning.' }, { role: 'user', content: 'My passport number is X9981234 and it expires in 2031.' }, ...filler],
    });
    const r = await c.call('POST', '/v1/sessions/long/context', { query: 'What is my passport number?', budget_tokens: 300, recent_turns: 4 });
    expect(r.json.rendered.text).toContain('X9981234');
    const hit = r.json.envelope.relevant_history.find((x: any) => x.content.includes('X9981234'));
    expect(hit.source).toBe('retrieved');
    const search = await c.call('POST', '/v1/sessions/long/search', { query: 'passport', limit: 3 });
    expect(search.json.results[0].content).toContain('X9981234');
  });

  it('serves a repeated query from cache and invalidates it on write', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/c1/turns', { turns: turns3 });
    const q = { query: 'budget per night', budget_tokens: 500 };
    const a = await c.call('POST', '/v1/sessions/c1/context', q);
    const b = await c.call('POST', '/v1/sessions/c1/context', q);
    expect(a.json.cached).toBe(false);
    expect(b.json.cached).toBe(true);
    expect(b.json.rendered.text).toBe(a.json.rendered.text);
    await c.call('POST', '/v1/sessions/c1/turns', { turns: [{ role: 'user', content: 'Actually the budget per night is 150 euros.' }] });
    const d = await c.call('POST', '/v1/sessions/c1/context', q);
    expect(d.json.cached).toBe(false);
    expect(d.json.rendered.text).toContain('150 euros');
  });

  it('compresses in the background once the window passes its limit, and rebuilds on request', async () => {
    const c = await tenant(h);
    const many = Array.from({ length: 30 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `Step ${i}: we discussed invoice ${1000 + i} for customer Acme Corp and agreed on delivery to warehouse ${i % 3}.`,
    }));
    await c.call('POST', '/v1/sessions/w1/turns', { turns: many.slice(0, 5) });
    const rebuild = await c.call('POST', '/v1/sessions/w1/rebuild', { strategy: 'summarize', max_tokens: 200 });
    expect(rebuild.status).toBe(202);
    expect(rebuild.json.max_tokens).toBe(200);
    await h.deps.queue.drain();
    const written = await c.call('POST', '/v1/sessions/w1/turns', { turns: many.slice(5) });
    expect(written.json.compression_queued).toBe(true);
    await h.deps.queue.drain();
    const s = await c.call('GET', '/v1/sessions/w1');
    expect(s.json.window.summarized_through).toBeGreaterThan(0);
    expect(s.json.window.summary.length).toBeGreaterThan(0);
    expect(s.json.window.summary_token_count).toBeLessThanOrEqual(600);
    const audit = await c.call('GET', '/v1/sessions/w1/compactions');
    const last = audit.json.compactions[0];
    expect(last.strategy).toBe('summarize:extractive');
    expect(last.tokens_before).toBeGreaterThan(last.tokens_after);
    expect(last.through_sequence).toBe(s.json.window.summarized_through);
    // The summary reaches the envelope and every stored turn is still there.
    const ctx = await c.call('POST', '/v1/sessions/w1/context', { budget_tokens: 2000 });
    expect(ctx.json.envelope.relevant_history.some((x: any) => x.source === 'summary')).toBe(true);
    const all = await c.call('GET', '/v1/sessions/w1/turns?limit=200');
    expect(all.json.turns).toHaveLength(30);
    // A duplicate delivery of the same job changes nothing.
    const before = (await c.call('GET', '/v1/sessions/w1/compactions')).json.compactions.length;
    await h.deps.queue.send({ kind: 'compress', mode: 'threshold', tenant_id: c.tenantId, session_id: 'w1', job_id: 'dup' });
    await h.deps.queue.drain();
    expect((await c.call('GET', '/v1/sessions/w1/compactions')).json.compactions.length).toBe(before);
  });

  it('deletes a session with everything derived from it', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/d1/turns', { turns: turns3, user_id: 'ada' });
    await c.call('POST', '/v1/memories', { scope: 'user', user_id: 'ada', session_id: 'd1', content: 'Ada likes Alfama.' });
    await c.call('POST', '/v1/sessions/d1/context', { query: 'Alfama', budget_tokens: 300 });
    expect((await c.call('DELETE', '/v1/sessions/d1')).status).toBe(204);
    expect((await c.call('POST', '/v1/sessions/d1/context', { query: 'Alfama', budget_tokens: 300 })).status).toBe(404);
    expect((await c.call('GET', '/v1/memories?user_id=ada')).json.memories).toHaveLength(0);
    expect((await c.call('DELETE', '/v1/sessions/d1')).status).toBe(404);
  });

  it('deletes by user and by agent', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/u1/turns', { turns: turns3, user_id: 'bob', agent_id: 'planner' });
    await c.call('POST', '/v1/sessions/u2/turns', { turns: turns3, user_id: 'bob' });
    await c.call('POST', '/v1/sessions/a1/turns', { turns: turns3, user_id: 'cy', agent_id: 'planner' });
    await c.call('POST', '/v1/sessions/keep/turns', { turns: turns3, user_id: 'dee' });
    await c.call('POST', '/v1/memories', { scope: 'user', user_id: 'bob', content: 'Bob is vegetarian.' });
    expect((await c.call('DELETE', '/v1/users/bob')).status).toBe(204);
    expect((await c.call('GET', '/v1/sessions/u1')).status).toBe(404);
    expect((await c.call('GET', '/v1/sessions/u2')).status).toBe(404);
    expect((await c.call('GET', '/v1/memories?user_id=bob')).json.memories).toHaveLength(0);
    expect((await c.call('GET', '/v1/sessions/a1')).status).toBe(200);
    expect((await c.call('DELETE', '/v1/agents/planner')).status).toBe(204);
    expect((await c.call('GET', '/v1/sessions/a1')).status).toBe(404);
    expect((await c.call('GET', '/v1/sessions/keep')).status).toBe(200);
    expect((await c.call('DELETE', '/v1/users/nobody')).status).toBe(404);
  });

  it('honours Idempotency-Key and external ids', async () => {
    const c = await tenant(h);
    const body = { turns: turns3.map((t, i) => ({ ...t, external_id: `D1:${i + 1}` })) };
    const a = await c.call('POST', '/v1/sessions/i1/turns', body, { 'idempotency-key': 'k1' });
    const b = await c.call('POST', '/v1/sessions/i1/turns', body, { 'idempotency-key': 'k1' });
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(b.json.turns).toEqual(a.json.turns);
    const other = await c.call('POST', '/v1/sessions/i1/turns', { turns: [{ role: 'user', content: 'different' }] }, { 'idempotency-key': 'k1' });
    expect(other.status).toBe(409);
    expect(other.json.error.code).toBe('CONFLICT');
    // Same external ids without a key: reported as duplicates, nothing stored twice.
    const again = await c.call('POST', '/v1/sessions/i1/turns', { turns: [...body.turns, { role: 'user', content: 'new one', external_id: 'D1:4' }] });
    expect(again.json.turns.map((t: any) => t.duplicate)).toEqual([true, true, true, false]);
    expect(again.json.turns.map((t: any) => t.sequence)).toEqual([1, 2, 3, 4]);
    const list = await c.call('GET', '/v1/sessions/i1/turns');
    expect(list.json.turns).toHaveLength(4);
  });

  it('keeps a gap-free order under concurrent writers', async () => {
    const c = await tenant(h);
    await Promise.all(
      Array.from({ length: 8 }, (_, w) =>
        c.call('POST', '/v1/sessions/conc/turns', { turns: Array.from({ length: 5 }, (_, i) => ({ role: 'user', content: `w${w} t${i}` })) }),
      ),
    );
    const list = await c.call('GET', '/v1/sessions/conc/turns?limit=100');
    expect(list.json.turns.map((t: any) => t.sequence)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    for (let w = 0; w < 8; w++) {
      const mine = list.json.turns.filter((t: any) => t.content.startsWith(`w${w} `)).map((t: any) => t.content);
      expect(mine).toEqual(Array.from({ length: 5 }, (_, i) => `w${w} t${i}`));
    }
  });
});
