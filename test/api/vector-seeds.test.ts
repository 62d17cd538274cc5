// Turn vectors from a remote model (ADR 0012) against a local OpenAI-compatible server: embedded after a write, stored
// once, searched by meaning so a turn sharing no word with the question reaches the context, deleted with the session.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dot, unit } from '../../src/embedder.js';
import { decodeVector, encodeVector } from '../../src/pipeline/retriever/vector-seeds.js';
import { runJob } from '../../src/jobs/run.js';
import { backends, harness, tenant, type Harness } from '../helpers.js';
import { embeddingsJson, startModelServer, type ModelServer } from '../model-server.js';

// A stand-in model with a few meanings: words of one concept share an axis, so "activities" is close to "pottery"
// and "swimming" without sharing a letter with them; every other word gets a small axis of its own.
const concepts: Record<string, string[]> = {
  hobby: ['activities', 'activity', 'hobbies', 'pottery', 'swimming', 'painting', 'class'],
  money: ['invoice', 'invoices', 'payment', 'euros', 'budget'],
};
const DIMS = 64;
function conceptVector(text: string): number[] {
  const v = new Float32Array(DIMS);
  for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
    const axis = Object.keys(concepts).findIndex((c) => concepts[c]!.includes(word));
    if (axis >= 0) v[axis]! += 3;
    else {
      let h = 7;
      for (const ch of word) h = (h * 31 + ch.charCodeAt(0)) % 9973;
      v[2 + (h % (DIMS - 2))]! += 0.3;
    }
  }
  return [...unit(v)];
}

const filler = (i: number) =>
  i % 2 === 0
    ? {
        role: 'user',
        name: 'Caroline',
        content: `Caroline here again, day ${i}: the weather was grey and the train was late.`,
      }
    : {
        role: 'assistant',
        name: 'Melanie',
        content: `Melanie answering on day ${i}: sorry about the train, the weather was grey here too.`,
      };

describe.each(backends)('turn vectors from an OpenAI-compatible embedding API ($name)', (backend) => {
  let server: ModelServer;
  let h: Harness;
  let plain: Harness;
  const inputs: string[][] = [];
  let fail = false;
  let requests = 0;

  beforeAll(async () => {
    server = await startModelServer((req) => {
      requests += 1;
      if (req.path !== '/v1/embeddings' || fail) return { status: 503, json: { error: { message: 'unavailable' } } };
      inputs.push(req.body.input);
      return { json: embeddingsJson(req.body.model, (req.body.input as string[]).map(conceptVector)) };
    });
    h = await harness(backend.open, {
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: server.url,
      CONTEXT_EMBEDDING_MODEL: 'concepts',
    });
    plain = await harness(backend.open, { CONTEXT_LOCAL_EMBEDDER: 'hashed' });
  });
  afterAll(async () => {
    await h.close();
    await plain.close();
    await server.close();
  });

  const conversation = [
    ...Array.from({ length: 6 }, (_, i) => filler(i)),
    { role: 'assistant', name: 'Melanie', content: 'My pottery class calms me down.' },
    { role: 'tool', content: '{"status":"ok"}', tool_call_id: 'c1' },
    ...Array.from({ length: 60 }, (_, i) => filler(i + 6)),
  ];
  const question = 'What activities does Melanie enjoy?';
  const vectorCount = async (hh: Harness, tenantId: string, sessionId: string) =>
    Number(
      (
        await hh.deps.store.query<{ n: number }>(sql`
      SELECT count(*)::int AS n FROM turn_vectors WHERE tenant_id = ${tenantId} AND session_id = ${sessionId}`)
      )[0]!.n,
    );

  it('embeds each conversational turn once in the background and finds the answer by meaning', async () => {
    const c = await tenant(h);
    const w = await c.call('POST', '/v1/sessions/v1/turns', { turns: conversation });
    expect(w.status).toBe(201);
    await h.deps.queue.drain();
    // Every user and assistant turn, no tool result.
    expect(await vectorCount(h, c.tenantId, 'v1')).toBe(conversation.length - 1);
    const embeddedTexts = inputs.flat();
    expect(embeddedTexts).toContain('Melanie: My pottery class calms me down.');

    const before = inputs.length;
    const q = await c.call('POST', '/v1/sessions/v1/context', { query: question, budget_tokens: 400 });
    expect(q.status).toBe(200);
    expect(q.json.rendered.text).toContain('pottery class');
    // The model embedded the query's text once and no conversational turn: their vectors, for seeding and for
    // ranking, came from the store (only the tool result, which is not stored, was embedded for the ranking).
    const asked = inputs.slice(before).flat();
    expect(asked.filter((t) => t === question)).toHaveLength(1);
    expect(asked.filter((t) => conversation.some((turn) => turn.role !== 'tool' && t.includes(turn.content)))).toEqual(
      [],
    );

    // Without the model the same question finds no word of that turn.
    const p = await tenant(plain);
    await p.call('POST', '/v1/sessions/v1/turns', { turns: conversation });
    const lexical = await p.call('POST', '/v1/sessions/v1/context', { query: question, budget_tokens: 400 });
    expect(lexical.status).toBe(200);
    expect(lexical.json.rendered.text).not.toContain('pottery class');
  });

  it('stores nothing twice when the job is delivered again or runs twice at once', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/v2/turns', { turns: conversation.slice(0, 10) });
    await h.deps.queue.drain();
    const job = { kind: 'embed', tenant_id: c.tenantId, session_id: 'v2', job_id: 'again' } as const;
    expect(await runJob(h.deps, job)).toMatchObject({ status: 'skipped' });
    await c.call('POST', '/v1/sessions/v2/turns', { turns: conversation.slice(10, 30) });
    await Promise.all([runJob(h.deps, job), runJob(h.deps, { ...job, job_id: 'twin' })]);
    await h.deps.queue.drain();
    expect(await vectorCount(h, c.tenantId, 'v2')).toBe(29);
  });

  it('keeps writes and queries working while the model is down, and catches up after', async () => {
    const c = await tenant(h);
    fail = true;
    try {
      const w = await c.call('POST', '/v1/sessions/v3/turns', { turns: conversation });
      expect(w.status).toBe(201);
      const job = { kind: 'embed', tenant_id: c.tenantId, session_id: 'v3', job_id: 'down' } as const;
      await expect(runJob(h.deps, job)).rejects.toThrow();
      const before = requests;
      const q = await c.call('POST', '/v1/sessions/v3/context', { query: question, budget_tokens: 400 });
      expect(q.status).toBe(200);
      expect(q.json.rendered.text).toContain('Melanie');
      // The model failed the search once; the ranking did not ask it again.
      expect(requests - before).toBe(1);
    } finally {
      fail = false;
    }
    await runJob(h.deps, { kind: 'embed', tenant_id: c.tenantId, session_id: 'v3', job_id: 'up' });
    expect(await vectorCount(h, c.tenantId, 'v3')).toBe(conversation.length - 1);
    const q = await c.call('POST', '/v1/sessions/v3/context', { query: `${question} `, budget_tokens: 400 });
    expect(q.json.rendered.text).toContain('pottery class');
  });

  it('deletes a session’s vectors with the session', async () => {
    const c = await tenant(h);
    await c.call('POST', '/v1/sessions/v4/turns', { turns: conversation.slice(0, 8) });
    await h.deps.queue.drain();
    expect(await vectorCount(h, c.tenantId, 'v4')).toBe(7);
    expect((await c.call('DELETE', '/v1/sessions/v4')).status).toBe(204);
    expect(await vectorCount(h, c.tenantId, 'v4')).toBe(0);
  });
});

describe('stored vector encoding', () => {
  it('keeps cosines within 0.02 through int8 and base64', () => {
    const a = unit(Float32Array.from({ length: 256 }, (_, i) => Math.sin(i * 1.7)));
    const b = unit(Float32Array.from({ length: 256 }, (_, i) => Math.sin(i * 1.7) + Math.cos(i * 0.3)));
    const back = (v: Float32Array) => {
      const { q, scale } = decodeVector(encodeVector(v));
      return Float32Array.from(q, (x) => x * scale);
    };
    expect(typeof encodeVector(a).vector).toBe('string');
    expect(Math.abs(dot(back(a), back(b)) - dot(a, b))).toBeLessThan(0.02);
    expect(Math.abs(dot(back(a), a) - 1)).toBeLessThan(0.02);
  });
});
