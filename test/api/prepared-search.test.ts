// A precompute on Node also readies what the process holds for searching the session (its copy, word index, sentence
// vectors, the lines of its turns and tool results), so the first query after a burst of writes builds none of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaults } from '../../src/config/tuning.js';
import type { Embedder } from '../../src/embedder.js';
import { snapshotTurnSource } from '../../src/pipeline/retriever/snapshot.js';
import { historySource, recalledHistory } from '../../src/pipeline/retriever/user-history.js';
import { prepareTurnLines } from '../../src/pipeline/items.js';
import { prepareFindings } from '../../src/pipeline/tool-findings.js';
import { findSession } from '../../src/services/sessions.js';
import { backends, harness, tenant, type Client, type Harness } from '../helpers.js';

const chat = (i: number) =>
  i % 2 === 0
    ? { role: 'user', name: 'Caroline', content: `Day ${i}: the ferry to Madeira left late and the harbour was windy.` }
    : { role: 'assistant', name: 'Melanie', content: `Noted for day ${i}; the pottery class moved to Thursday.` };
const call = (i: number) => ({
  role: 'assistant',
  content: '',
  tool_calls: [{ id: `c${i}`, name: 'lookup_booking', arguments: JSON.stringify({ booking: `B-${100 + i}` }) }],
});
const result = (i: number) => ({
  role: 'tool',
  tool_call_id: `c${i}`,
  name: 'lookup_booking',
  content: JSON.stringify({
    booking: `B-${100 + i}`,
    status: 'confirmed',
    seats: ['12A', '12B'],
    notes: 'x'.repeat(300),
  }),
});
/** 50 turns of conversation, each followed by a tool call and its result: more results than a query shows newest. */
const turns = Array.from({ length: 50 }, (_, i) => [chat(i), call(i), result(i)]).flat();
const olderResults = 50 - defaults.toolFindings.results;

/** Writes `turns` in two requests. */
async function writeAll(c: Client, sessionId: string) {
  for (const part of [turns.slice(0, 75), turns.slice(75)])
    expect((await c.call('POST', `/v1/sessions/${sessionId}/turns`, { turns: part })).status).toBe(201);
}

/** Whether an embedded text is a tool result's (ranking embeds a result it ranks, once per process). */
const ofResult = (text: string) => text.startsWith('lookup_booking: ');

/** Texts given to the embedder while `run` runs. */
async function embedded(h: Harness, run: () => Promise<unknown>): Promise<string[]> {
  const inner = h.deps.embedder!;
  const texts: string[] = [];
  const counting: Embedder = Object.assign(Object.create(inner), {
    embed: (batch: string[]) => (texts.push(...batch), inner.embed(batch)),
  });
  h.deps.embedder = counting;
  try {
    await run();
  } finally {
    h.deps.embedder = inner;
  }
  return texts;
}

/** Tool results of the session's copy whose shown form was not worked out yet (working it out now). */
async function unpreparedResults(h: Harness, c: Client, sessionId: string): Promise<number> {
  const session = (await findSession(h.deps, c.tenantId, sessionId))!;
  const source = await snapshotTurnSource(h.deps.store, c.tenantId, session);
  return prepareFindings(source, h.deps.tokenizer, undefined, defaults.toolFindings.prepared);
}

/** User and assistant turns of the session's copy whose line was not worked out yet (working it out now). */
async function unpreparedLines(h: Harness, c: Client, sessionId: string): Promise<number> {
  const session = (await findSession(h.deps, c.tenantId, sessionId))!;
  const source = await snapshotTurnSource(h.deps.store, c.tenantId, session);
  return prepareTurnLines(h.deps.tokenizer, source.heldTurns!());
}

/** Turns of the session's user history (read from this process's copy) whose line was not worked out yet (now). */
async function unpreparedHistoryLines(h: Harness, c: Client, sessionId: string): Promise<number> {
  const session = (await findSession(h.deps, c.tenantId, sessionId))!;
  const history = recalledHistory(session, undefined)!;
  const source = await historySource({ ...h.deps, tenantId: c.tenantId, requestId: 'test' }, history);
  return prepareTurnLines(h.deps.tokenizer, source.heldTurns!());
}

describe.each(backends)('a precompute readies the session for its next query ($name)', (backend) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(backend.open);
  });
  afterAll(async () => h.close());

  const query = { query: 'Which day did the ferry to Madeira leave late?', budget_tokens: 1500 };

  it('once searched, a session is ready again for its next query after each burst of writes', async () => {
    const c = await tenant(h);
    const [first, second] = [turns.slice(0, 75), turns.slice(75)];
    await c.call('POST', '/v1/sessions/ready/turns', { turns: first });
    await h.deps.queue.drain();
    expect((await c.call('POST', '/v1/sessions/ready/context', query)).status).toBe(200);

    // The job embeds the burst's user and assistant turns (calls included, results not) and works out the lines and
    // findings of every held turn, so the next query embeds only itself.
    await c.call('POST', '/v1/sessions/ready/turns', { turns: second });
    const job = await embedded(h, () => h.deps.queue.drain());
    const said = second.filter((t) => t.role !== 'tool');
    expect(job).toEqual(said.map((t) => ('name' in t && t.name ? `${t.name}: ${t.content}` : t.content)));
    expect(await unpreparedResults(h, c, 'ready')).toBe(0);
    expect(await unpreparedLines(h, c, 'ready')).toBe(0);

    let answer: any;
    const texts = await embedded(h, async () => {
      answer = await c.call('POST', '/v1/sessions/ready/context', query);
    });
    expect(answer.status).toBe(200);
    expect(answer.json.cached).toBe(false);
    expect(answer.json.rendered.text).toContain('ferry to Madeira');
    expect(texts.filter((t) => !ofResult(t))).toEqual([query.query]);
  });

  it("a new session of a user finds its user's history ready: the query embeds only itself", async () => {
    const c = await tenant(h);
    const owner = { user_id: 'u1', agent_id: 'a1' };
    const chats = Array.from({ length: 40 }, (_, i) => chat(i));
    expect((await c.call('POST', '/v1/sessions/earlier/turns', { turns: chats, ...owner })).status).toBe(201);
    await h.deps.queue.drain();
    // A query of the earlier session searched the user's history.
    expect((await c.call('POST', '/v1/sessions/earlier/context', query)).status).toBe(200);
    const asked = { role: 'user', name: 'Caroline', content: query.query };
    expect((await c.call('POST', '/v1/sessions/later/turns', { turns: [asked], ...owner })).status).toBe(201);
    await h.deps.queue.drain();
    expect(await unpreparedHistoryLines(h, c, 'later')).toBe(0);

    let answer: any;
    const texts = await embedded(h, async () => {
      answer = await c.call('POST', '/v1/sessions/later/context', query);
    });
    expect(answer.status).toBe(200);
    expect(answer.json.rendered.text).toContain('ferry to Madeira');
    expect(answer.json.rendered.text).toContain('session="earlier"');
    expect(texts).toEqual([query.query]);
  });

  it('a session never searched here, or a job run apart from the queries, leaves the building to the query', async () => {
    const c = await tenant(h);
    await writeAll(c, 'unsearched');
    await h.deps.queue.drain();
    // The default context the job assembled showed the newest results and turns only; the others are worked out now.
    expect(await unpreparedResults(h, c, 'unsearched')).toBe(olderResults);
    expect(await unpreparedResults(h, c, 'unsearched')).toBe(0);
    expect(await unpreparedLines(h, c, 'unsearched')).toBeGreaterThan(0);
    expect(await unpreparedLines(h, c, 'unsearched')).toBe(0);
    let answer: any;
    const texts = await embedded(h, async () => {
      answer = await c.call('POST', '/v1/sessions/unsearched/context', query);
    });
    expect(answer.json.rendered.text).toContain('ferry to Madeira');
    // The query, then the session's user and assistant turns (calls included, results not).
    const own = texts.filter((t) => !ofResult(t));
    expect(own[0]).toBe(query.query);
    expect(own.length).toBe(1 + turns.filter((t) => t.role !== 'tool').length);

    // Searched now, but the job runs where the queries are not: the next query embeds the burst itself.
    await c.call('POST', '/v1/sessions/unsearched/turns', { turns: [chat(51)] });
    h.deps.jobsBesideQueries = false;
    try {
      expect(await embedded(h, () => h.deps.queue.drain())).toEqual([]);
    } finally {
      h.deps.jobsBesideQueries = true;
    }
    const next = await embedded(h, () => c.call('POST', '/v1/sessions/unsearched/context', query));
    expect(next.filter((t) => !ofResult(t))).toEqual([query.query, `Melanie: ${chat(51).content}`]);
  });
});
