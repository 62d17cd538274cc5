// Recall across sessions on PGlite and PostgreSQL (+ Redis): a user's other sessions with the same agent, labelled and
// dated, never another user's, agent's or tenant's; changed facts, carried constraints, caches, deletion, scope.
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFences } from '../fence-check.js';
import { backends, clientFor, harness, tenant, type Client, type Harness } from '../helpers.js';

const owner = { user_id: 'u1', agent_id: 'a1' };
const allergy = 'My daughter Mira is allergic to peanuts, so no peanut snacks for her.';
const question = 'snack for my daughter, any allergies?';

async function write(c: Client, session: string, turns: unknown[], extra: Record<string, unknown> = owner) {
  const r = await c.call('POST', `/v1/sessions/${session}/turns`, { turns, ...extra });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return r.json;
}

async function ask(c: Client, session: string, body: Record<string, unknown> = {}) {
  const r = await c.call('POST', `/v1/sessions/${session}/context`, { query: question, budget_tokens: 600, ...body });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json;
}

/** The past-session blocks of a rendered context: their opening tags and bodies, in order. */
function pastBlocks(text: string): { open: string; body: string }[] {
  return [...text.matchAll(/(<data session="[^>\n]*>)\n([\s\S]*?)\n<\/data>/g)].map((m) => ({
    open: m[1]!,
    body: m[2]!,
  }));
}

/** Sections with items kept, from the budget report. */
const keptSections = (r: any) =>
  new Set<string>(r.envelope.budget_report.sections.filter((s: any) => s.kept > 0).map((s: any) => s.section));

// With in-process copies (small histories) and with every read from the database (large ones).
const layouts = backends.flatMap((b) => [
  { ...b, reads: 'copies', env: {} as Record<string, string> },
  { ...b, reads: 'database', env: { CONTEXT_SESSION_COPY_MAX_TURNS: '0' } },
]);

describe.each(layouts)('recall across sessions on $name ($reads)', ({ open, env }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(open, env);
  });
  afterAll(async () => h.close());

  it('a new session of the same user and agent recalls the earlier one, in a labelled block', async () => {
    const c = await tenant(h);
    await write(c, 's1', [
      { role: 'user', content: allergy, created_at: '2025-05-08T10:00:00Z' },
      {
        role: 'assistant',
        content: 'Noted, I will keep peanuts out of every suggestion.',
        created_at: '2025-05-08T10:00:05Z',
      },
    ]);
    await write(c, 's2', [{ role: 'user', content: question, created_at: '2025-06-01T09:00:00Z' }]);
    const r = await ask(c, 's2');
    expect(r.token_count).toBeLessThanOrEqual(600);
    const blocks = pastBlocks(r.rendered.text);
    expect(blocks).toHaveLength(1);
    expect(blocks[0]!.open).toBe('<data session="s1" date="8 May 2025" latest="true">');
    expect(blocks[0]!.body).toContain(allergy);
    const item = r.envelope.relevant_history.find((x: any) => x.content === allergy);
    expect(item).toMatchObject({ source: 'past_session', session_id: 's1', sequence: 1, role: 'user' });
    const report = r.envelope.budget_report.sections.find((s: any) => s.section === 'past_sessions');
    expect(report.kept).toBeGreaterThanOrEqual(1);
    expect(report.used).toBeGreaterThan(0);
    checkFences(r.rendered, 'default', keptSections(r));
    // The session's own question is the query the caller sends: neither repeated as its recent turn nor recalled.
    expect(r.envelope.relevant_history.find((x: any) => x.content === question)).toBeUndefined();
    expect(r.rendered.text).not.toContain(question);
  });

  it('never recalls another user, another agent or another tenant; history_scope and the agent choose', async () => {
    const c = await tenant(h);
    await write(c, 's1', [{ role: 'user', content: allergy }]);
    await write(c, 'other-user', [{ role: 'user', content: question }], { user_id: 'u2', agent_id: 'a1' });
    await write(c, 'other-agent', [{ role: 'user', content: question }], { user_id: 'u1', agent_id: 'a2' });
    await write(c, 'no-agent', [{ role: 'user', content: question }], { user_id: 'u1' });
    await write(c, 'no-user', [{ role: 'user', content: question }], { agent_id: 'a1' });
    for (const s of ['other-user', 'other-agent', 'no-agent', 'no-user']) {
      const r = await ask(c, s, { budget_tokens: 2000 });
      expect(r.rendered.text, s).not.toContain('peanuts');
      expect(r.envelope.budget_report.sections.find((x: any) => x.section === 'past_sessions').kept, s).toBe(0);
    }
    const other = await tenant(h);
    await write(other, 's2', [{ role: 'user', content: question }]);
    expect((await ask(other, 's2', { budget_tokens: 2000 })).rendered.text).not.toContain('peanuts');

    await write(c, 's2', [{ role: 'user', content: question }]);
    expect((await ask(c, 's2')).rendered.text).toContain(allergy);
    expect((await ask(c, 's2', { history_scope: 'session' })).rendered.text).not.toContain('peanuts');
    // The agent's configuration applies to queries that name no scope; the request's scope wins over it.
    const agent = await c.call('POST', '/v1/agents', { agent_id: 'a1', config: { history_scope: 'session' } });
    expect(agent.status, JSON.stringify(agent.json)).toBeLessThan(300);
    expect((await ask(c, 's2')).rendered.text).not.toContain('peanuts');
    expect((await ask(c, 's2', { history_scope: 'user' })).rendered.text).toContain(allergy);
    // An unknown scope is refused.
    const bad = await c.call('POST', '/v1/sessions/s2/context', {
      query: question,
      budget_tokens: 600,
      history_scope: 'tenant',
    });
    expect(bad.status).toBe(400);
  });

  it('the plain search of a session stays within the session', async () => {
    const c = await tenant(h);
    await write(c, 's1', [{ role: 'user', content: allergy }]);
    await write(c, 's2', [{ role: 'user', content: 'Any snack ideas?' }]);
    const r = await c.call('POST', '/v1/sessions/s2/search', { query: 'peanuts allergic', limit: 10 });
    expect(r.status).toBe(200);
    expect(r.json.results).toEqual([]);
  });

  it('a fact that changed: both dated, the newer one last, marked latest and ranked at least as high', async () => {
    const c = await tenant(h);
    await write(c, 'may', [
      { role: 'user', content: 'We live in Lisbon.', created_at: '2025-05-10T10:00:00Z' },
      { role: 'assistant', content: 'Lovely city.', created_at: '2025-05-10T10:00:04Z' },
    ]);
    await write(c, 'aug', [
      { role: 'user', content: 'We moved to Porto.', created_at: '2025-08-20T18:00:00Z' },
      { role: 'assistant', content: 'Congratulations on the move!', created_at: '2025-08-20T18:00:04Z' },
    ]);
    const asked = 'Where do we live now that we moved?';
    await write(c, 'now', [{ role: 'user', content: asked, created_at: '2025-09-01T08:00:00Z' }]);
    const r = await ask(c, 'now', { query: asked });
    const blocks = pastBlocks(r.rendered.text);
    const lisbon = blocks.findIndex((b) => b.body.includes('We live in Lisbon.'));
    const porto = blocks.findIndex((b) => b.body.includes('We moved to Porto.'));
    expect(lisbon).toBeGreaterThanOrEqual(0);
    expect(porto).toBeGreaterThan(lisbon);
    expect(blocks[lisbon]!.open).toBe('<data session="may" date="10 May 2025">');
    expect(blocks[porto]!.open).toBe('<data session="aug" date="20 August 2025" latest="true">');
    const score = (text: string) => r.envelope.relevant_history.find((x: any) => x.content === text).score;
    expect(score('We moved to Porto.')).toBeGreaterThanOrEqual(score('We live in Lisbon.'));
    checkFences(r.rendered, 'default', keptSections(r));
  });

  it('constraints and declared tasks of earlier sessions reach a new one, labelled', async () => {
    const c = await tenant(h);
    await write(
      c,
      's1',
      [
        { role: 'system', content: 'Never suggest anything with peanuts.' },
        { role: 'user', content: "Help me plan Mira's birthday party." },
      ],
      { ...owner, metadata: { task: "Plan Mira's birthday party for 12 June" } },
    );
    await write(c, 's2', [{ role: 'user', content: 'Hello again' }]);
    const r = await ask(c, 's2', { query: 'What should we cook?', budget_tokens: 800 });
    const constraint = r.envelope.hard_constraints.find((x: any) => x.text === 'Never suggest anything with peanuts.');
    expect(constraint).toMatchObject({ source: 'earlier session system turn' });
    expect(r.rendered.messages[0].content).toMatch(
      /- \(session s1, \d+ \w+ \d{4}\) Never suggest anything with peanuts\./,
    );
    expect(
      pastBlocks(r.rendered.text).some((b) => b.body.includes("(task) Plan Mira's birthday party for 12 June")),
    ).toBe(true);
    checkFences(r.rendered, 'default', keptSections(r));
  });

  it("a session that gets its user later brings its earlier turns into the user's history", async () => {
    const c = await tenant(h);
    await write(c, 'anon', [{ role: 'user', content: allergy }], { agent_id: 'a1' });
    await write(c, 'anon', [{ role: 'user', content: 'I am signing in now.' }], owner);
    await write(c, 's2', [{ role: 'user', content: question }]);
    expect((await ask(c, 's2')).rendered.text).toContain(allergy);
    // An agent given later moves the turns out of the user's history without an agent.
    await write(c, 'later', [{ role: 'user', content: 'We keep bees at home.' }], { user_id: 'u1' });
    await write(c, 'plain', [{ role: 'user', content: 'Do we keep any animals?' }], { user_id: 'u1' });
    expect((await ask(c, 'plain', { query: 'Do we keep any animals? bees' })).rendered.text).toContain(
      'We keep bees at home.',
    );
    await write(c, 'later', [{ role: 'user', content: 'Now with the agent.' }], { user_id: 'u1', agent_id: 'a1' });
    expect((await ask(c, 'plain', { query: 'Do we keep any animals? bees' })).rendered.text).not.toContain(
      'bees at home',
    );
    expect((await ask(c, 's2', { query: 'Do we keep any animals? bees' })).rendered.text).toContain(
      'We keep bees at home.',
    );
  });

  it('a cached context is not served after a write to, or the deletion of, another session of the user', async () => {
    const c = await tenant(h);
    await write(c, 's1', [{ role: 'user', content: allergy }]);
    await write(c, 's2', [{ role: 'user', content: question }]);
    expect((await ask(c, 's2')).cached).toBe(false);
    expect((await ask(c, 's2')).cached).toBe(true);
    await write(c, 's1', [{ role: 'user', content: 'Mira is also allergic to kiwi snacks.' }]);
    const after = await ask(c, 's2');
    expect(after.cached).toBe(false);
    expect(after.rendered.text).toContain('kiwi');
    expect((await ask(c, 's2')).cached).toBe(true);
    expect((await c.call('DELETE', '/v1/sessions/s1')).status).toBe(204);
    const gone = await ask(c, 's2');
    expect(gone.cached).toBe(false);
    expect(gone.rendered.text).not.toContain('peanuts');
    expect(gone.rendered.text).not.toContain('kiwi');
  });

  it("a precomputed context recalls the user's other sessions, not another user's, and goes stale", async () => {
    const c = await tenant(h);
    const flow = {
      model_calls: [{ id: 'suggest', model: 'm', budget_tokens: 600, reserve_tokens: 0, query: 'snack allergies' }],
    };
    expect((await c.call('POST', '/v1/agents', { agent_id: 'a1' })).status).toBeLessThan(300);
    expect((await c.call('PUT', '/v1/agents/a1/task-flows/meals', flow)).status).toBeLessThan(300);
    await write(c, 's1', [{ role: 'user', content: allergy }]);
    await write(c, 's2', [{ role: 'user', content: 'Hi, it is me again.' }]);
    await write(c, 'v1', [{ role: 'user', content: 'Hello there, new here.' }], { user_id: 'u2', agent_id: 'a1' });
    await h.deps.queue.drain();
    const call = (session: string) => c.call('POST', `/v1/sessions/${session}/context`, { model_call_id: 'suggest' });
    const mine = await call('s2');
    expect(mine.json.source).toBe('precomputed');
    expect(mine.json.rendered.text).toContain(allergy);
    const theirs = await call('v1');
    expect(theirs.json.source).toBe('precomputed');
    expect(JSON.stringify(theirs.json)).not.toContain('peanuts');

    // A write to the other session: the context prepared for s2 is not served again.
    await write(c, 's1', [{ role: 'user', content: 'Mira is also allergic to kiwi snacks.' }]);
    await h.deps.queue.drain();
    const after = await call('s2');
    expect(after.json.source).toBe('live');
    expect(after.json.rendered.text).toContain('kiwi');
    expect((await call('s2')).json.source).toBe('precomputed');
    // Its deletion: nothing of it in s2's answer, prepared or live.
    expect((await c.call('DELETE', '/v1/sessions/s1')).status).toBe(204);
    await h.deps.queue.drain();
    const gone = await call('s2');
    expect(gone.json.source).toBe('live');
    expect(JSON.stringify(gone.json)).not.toMatch(/peanuts|kiwi/);
  });

  it('deleting the user leaves nothing of it, and another user of the same agent is untouched', async () => {
    const c = await tenant(h);
    await write(c, 's1', [{ role: 'user', content: allergy }]);
    await write(c, 's2', [{ role: 'user', content: question }]);
    await write(c, 'v1', [{ role: 'user', content: 'My son Theo loves peanut butter snacks.' }], {
      user_id: 'u2',
      agent_id: 'a1',
    });
    await write(c, 'v2', [{ role: 'user', content: question }], { user_id: 'u2', agent_id: 'a1' });
    expect((await ask(c, 's2')).rendered.text).toContain(allergy);
    const theirs = await ask(c, 'v2');
    expect(theirs.rendered.text).toContain('peanut butter');
    expect(theirs.rendered.text).not.toContain('Mira');
    expect((await c.call('DELETE', '/v1/users/u1')).status).toBe(204);
    expect((await c.call('POST', '/v1/sessions/s2/context', { query: question, budget_tokens: 600 })).status).toBe(404);
    const after = await ask(c, 'v2');
    expect(after.rendered.text).not.toContain('Mira');
    expect(after.rendered.text).toContain('peanut butter');
    // The user comes back: a new history, holding nothing of the deleted one.
    await write(c, 's3', [{ role: 'user', content: question }]);
    expect((await ask(c, 's3', { budget_tokens: 2000 })).rendered.text).not.toContain('Mira');
  });
});

describe('recall across sessions on PostgreSQL + Redis', () => {
  let one: Harness;
  let two: Harness;
  let redis: Redis;
  beforeAll(async () => {
    one = await harness(backends[1].open, { REDIS_URL: 'redis://127.0.0.1:6379' });
    two = await harness(backends[1].open, { REDIS_URL: 'redis://127.0.0.1:6379' });
    redis = new Redis('redis://127.0.0.1:6379');
  });
  afterAll(async () => {
    await one.close();
    await two.close();
    redis.disconnect();
  });

  it('a shared cached context is not served after another session of the user changes or goes', async () => {
    const a = await tenant(one);
    const b = clientFor(two, a.tenantId, a.key);
    await write(a, 's1', [{ role: 'user', content: allergy }]);
    await write(a, 's2', [{ role: 'user', content: question }]);
    const [history] = await one.deps.store.query<{ id: string }>(sql`
      SELECT id FROM user_histories WHERE tenant_id = ${a.tenantId} AND user_id = 'u1'`);
    expect((await ask(a, 's2')).cached).toBe(false);
    expect((await ask(b, 's2')).cached).toBe(true);
    expect((await redis.keys(`ctxh:${a.tenantId}:${history!.id}:s2:*`)).length).toBeGreaterThan(0);

    await write(b, 's1', [{ role: 'user', content: 'Mira is also allergic to kiwi snacks.' }]);
    const after = await ask(a, 's2');
    expect(after.cached).toBe(false);
    expect(after.rendered.text).toContain('kiwi');

    expect((await b.call('DELETE', '/v1/sessions/s1')).status).toBe(204);
    expect(await redis.keys(`*${a.tenantId}:${history!.id}:*`)).toEqual([]);
    const gone = await ask(a, 's2');
    expect(gone.cached).toBe(false);
    expect(gone.rendered.text).not.toMatch(/peanuts|kiwi/);

    await write(a, 'v1', [{ role: 'user', content: question }], { user_id: 'u2', agent_id: 'a1' });
    expect((await ask(a, 'v1')).rendered.text).not.toContain('Mira');
    expect((await a.call('DELETE', '/v1/users/u1')).status).toBe(204);
    // Nothing of the user stays cached: neither its sessions' entries nor its history's.
    const left = await redis.keys(`*${a.tenantId}*`);
    expect(left.filter((k) => k.includes(':s1:') || k.includes(':s2:') || k.includes(history!.id))).toEqual([]);
  });
});
