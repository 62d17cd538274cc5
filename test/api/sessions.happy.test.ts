// Sessions through the typed client: a change to a route's schema that the client does not follow fails to compile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryContextRequest, WriteTurnsRequest } from '../../src/client/index.js';
import { backends, harness, tenant, turns3, type Harness } from '../helpers.js';

describe.each(backends)('sessions on $name', ({ open }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(open);
  });
  afterAll(async () => h.close());

  it('writes turns in order with token counts and creates the session once', async () => {
    const { client, last } = await tenant(h);
    const first = await client.writeTurns('s1', { turns: turns3 });
    expect(last().status).toBe(201);
    expect(first.session_created).toBe(true);
    expect(first.turns.map((t) => t.sequence)).toEqual([1, 2, 3]);
    for (const t of first.turns) expect(t.token_count).toBeGreaterThan(5);
    const second = await client.writeTurns('s1', { turns: [{ role: 'user', content: 'And a museum pass.' }] });
    expect(second.session_created).toBe(false);
    expect(second.turns[0]!.sequence).toBe(4);
    expect(second.total_tokens).toBe(first.total_tokens + second.turns[0]!.token_count);
    const list = await client.listTurns('s1', { limit: 3 });
    expect(list.turns.map((t) => t.content)).toEqual(turns3.map((t) => t.content));
    expect(list.next_cursor).toBe('3');
    const rest = await client.listTurns('s1', { after_sequence: Number(list.next_cursor) });
    expect(rest.turns.map((t) => t.sequence)).toEqual([4]);
    expect(rest.next_cursor).toBeNull();
  });

  it('answers a query with an envelope that fits the budget and explains itself', async () => {
    const { client, last } = await tenant(h);
    await client.writeTurns('trip', { turns: turns3 });
    for (const budget of [1000, 200, 60, 25]) {
      const r = await client.queryContext('trip', { query: 'Where does Ada want to stay?', budget_tokens: budget });
      expect(last().status).toBe(200);
      expect(r.token_count).toBeLessThanOrEqual(budget);
      const { tokenizer } = h.deps;
      expect(tokenizer.count(r.rendered.text)).toBe(r.token_count);
      const report = r.envelope.budget_report;
      expect(report.budget_tokens).toBe(budget);
      expect(report.sections.map((s) => s.section)).toEqual([
        'task_anchor',
        'hard_constraints',
        'recent_turns',
        'relevant_history',
        'past_sessions',
        'tool_findings',
        'retrieved_memory',
        'summary',
      ]);
      for (const s of report.sections) expect(typeof s.note).toBe('string');
      if (budget === 1000) {
        expect(r.rendered.text).toContain('Alfama');
        expect(r.envelope.task_summary).toContain('Lisbon');
        expect(r.envelope.relevant_history.some((x) => x.content.includes('Alfama'))).toBe(true);
      }
    }
  });

  it('finds an old relevant turn by full-text search when recent turns do not hold it', async () => {
    const { client } = await tenant(h);
    const filler: WriteTurnsRequest['turns'] = Array.from({ length: 40 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `Small talk number ${i} about the weather and nothing much.`,
    }));
    await client.writeTurns('long', {
      turns: [
        { role: 'user', content: 'Start planning.' },
        { role: 'user', content: 'My passport number is X9981234 and it expires in 2031.' },
        ...filler,
      ],
    });
    const r = await client.queryContext('long', {
      query: 'What is my passport number?',
      budget_tokens: 300,
      recent_turns: 4,
    });
    expect(r.rendered.text).toContain('X9981234');
    const hit = r.envelope.relevant_history.find((x) => x.content.includes('X9981234'));
    expect(hit?.source).toBe('retrieved');
    const search = await client.searchHistory('long', { query: 'passport', limit: 3 });
    expect(search.results[0]!.content).toContain('X9981234');
  });

  it('serves a repeated query from cache and invalidates it on write', async () => {
    const { client } = await tenant(h);
    await client.writeTurns('c1', { turns: turns3 });
    const q: QueryContextRequest = { query: 'budget per night', budget_tokens: 500 };
    const a = await client.queryContext('c1', q);
    const b = await client.queryContext('c1', q);
    expect(a.cached).toBe(false);
    expect(b.cached).toBe(true);
    expect(b.rendered.text).toBe(a.rendered.text);
    const update = 'Actually the budget per night is 150 euros.';
    await client.writeTurns('c1', { turns: [{ role: 'user', content: update }] });
    const d = await client.queryContext('c1', q);
    expect(d.cached).toBe(false);
    expect(d.rendered.text).toContain('150 euros');
  });

  it('compresses in the background once the window passes its limit, and rebuilds on request', async () => {
    const { client, last, tenantId } = await tenant(h);
    const many: WriteTurnsRequest['turns'] = Array.from({ length: 30 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content:
        `Step ${i}: we discussed invoice ${1000 + i} for customer Acme Corp ` +
        `and agreed on delivery to warehouse ${i % 3}.`,
    }));
    await client.writeTurns('w1', { turns: many.slice(0, 5) });
    const rebuild = await client.rebuild('w1', { strategy: 'summarize', max_tokens: 200 });
    expect(last().status).toBe(202);
    expect(rebuild.max_tokens).toBe(200);
    await h.deps.queue.drain();
    const written = await client.writeTurns('w1', { turns: many.slice(5) });
    expect(written.compression_queued).toBe(true);
    await h.deps.queue.drain();
    const s = await client.getSession('w1');
    expect(s.window.summarized_through).toBeGreaterThan(0);
    expect(s.window.summary.length).toBeGreaterThan(0);
    expect(s.window.summary_token_count).toBeLessThanOrEqual(600);
    const audit = await client.listCompactions('w1');
    const latest = audit.compactions[0]!;
    expect(latest.strategy).toBe('summarize:extractive');
    expect(latest.tokens_before).toBeGreaterThan(latest.tokens_after);
    expect(latest.through_sequence).toBe(s.window.summarized_through);
    // The summary reaches the envelope and every stored turn is still there.
    const ctx = await client.queryContext('w1', { budget_tokens: 2000 });
    expect(ctx.envelope.relevant_history.some((x) => x.source === 'summary')).toBe(true);
    const all = await client.listTurns('w1', { limit: 200 });
    expect(all.turns).toHaveLength(30);
    // A duplicate delivery of the same job changes nothing.
    const before = (await client.listCompactions('w1')).compactions.length;
    await h.deps.queue.send({
      kind: 'compress',
      mode: 'threshold',
      tenant_id: tenantId,
      session_id: 'w1',
      job_id: 'dup',
    });
    await h.deps.queue.drain();
    expect((await client.listCompactions('w1')).compactions.length).toBe(before);
  });

  it('deletes a session with everything derived from it', async () => {
    const { client, last } = await tenant(h);
    await client.writeTurns('d1', { turns: turns3, user_id: 'ada' });
    await client.memories.create({ scope: 'user', user_id: 'ada', session_id: 'd1', content: 'Ada likes Alfama.' });
    await client.queryContext('d1', { query: 'Alfama', budget_tokens: 300 });
    await client.deleteSession('d1');
    expect(last().status).toBe(204);
    const gone = client.queryContext('d1', { query: 'Alfama', budget_tokens: 300 });
    await expect(gone).rejects.toMatchObject({ status: 404 });
    expect((await client.memories.list({ user_id: 'ada' })).memories).toHaveLength(0);
    await expect(client.deleteSession('d1')).rejects.toMatchObject({ status: 404 });
  });

  it('deletes by user and by agent', async () => {
    const { client, last } = await tenant(h);
    await client.writeTurns('u1', { turns: turns3, user_id: 'bob', agent_id: 'planner' });
    await client.writeTurns('u2', { turns: turns3, user_id: 'bob' });
    await client.writeTurns('a1', { turns: turns3, user_id: 'cy', agent_id: 'planner' });
    await client.writeTurns('keep', { turns: turns3, user_id: 'dee' });
    await client.memories.create({ scope: 'user', user_id: 'bob', content: 'Bob is vegetarian.' });
    await client.deleteUser('bob');
    expect(last().status).toBe(204);
    await expect(client.getSession('u1')).rejects.toMatchObject({ status: 404 });
    await expect(client.getSession('u2')).rejects.toMatchObject({ status: 404 });
    expect((await client.memories.list({ user_id: 'bob' })).memories).toHaveLength(0);
    await client.getSession('a1');
    expect(last().status).toBe(200);
    await client.deleteAgent('planner');
    expect(last().status).toBe(204);
    await expect(client.getSession('a1')).rejects.toMatchObject({ status: 404 });
    await client.getSession('keep');
    expect(last().status).toBe(200);
    await expect(client.deleteUser('nobody')).rejects.toMatchObject({ status: 404 });
  });

  it('honours Idempotency-Key and external ids', async () => {
    const { client, last } = await tenant(h);
    const body = { turns: turns3.map((t, i) => ({ ...t, external_id: `D1:${i + 1}` })) };
    const a = await client.writeTurns('i1', body, { idempotencyKey: 'k1' });
    const b = await client.writeTurns('i1', body, { idempotencyKey: 'k1' });
    expect(last().status).toBe(201);
    expect(b.replayed).toBe(true);
    expect(b.turns).toEqual(a.turns);
    const other = client.writeTurns(
      'i1',
      { turns: [{ role: 'user', content: 'different' }] },
      {
        idempotencyKey: 'k1',
      },
    );
    await expect(other).rejects.toMatchObject({ status: 409, code: 'CONFLICT' });
    // Same external ids without a key: reported as duplicates, nothing stored twice.
    const again = await client.writeTurns('i1', {
      turns: [...body.turns, { role: 'user', content: 'new one', external_id: 'D1:4' }],
    });
    expect(again.turns.map((t) => t.duplicate)).toEqual([true, true, true, false]);
    expect(again.turns.map((t) => t.sequence)).toEqual([1, 2, 3, 4]);
    const list = await client.listTurns('i1');
    expect(list.turns).toHaveLength(4);
  });

  it('keeps a gap-free order under concurrent writers', async () => {
    const { client } = await tenant(h);
    await Promise.all(
      Array.from({ length: 8 }, (_, w) =>
        client.writeTurns('conc', {
          turns: Array.from({ length: 5 }, (_, i) => ({ role: 'user' as const, content: `w${w} t${i}` })),
        }),
      ),
    );
    const list = await client.listTurns('conc', { limit: 100 });
    expect(list.turns.map((t) => t.sequence)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    for (let w = 0; w < 8; w++) {
      const mine = list.turns.filter((t) => t.content.startsWith(`w${w} `)).map((t) => t.content);
      expect(mine).toEqual(Array.from({ length: 5 }, (_, i) => `w${w} t${i}`));
    }
  });
});
