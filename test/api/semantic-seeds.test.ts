// Semantic seeds with the bundled word vectors: a turn that shares no word with the query is found by meaning,
// reaches the rendered context, and the per-session vectors follow later writes and a re-created session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { semanticSeeds, wordIndexStats } from '../../src/pipeline/retriever/semantic.js';
import { vectorSeeds, vectorStats } from '../../src/pipeline/retriever/vector-seeds.js';
import { historyCandidates, meaningSeeds, searchText, sqlTurnSource } from '../../src/pipeline/retriever/index.js';
import { correction, withSpellings } from '../../src/pipeline/retriever/spelling.js';
import { snapshotTurnSource } from '../../src/pipeline/retriever/snapshot.js';
import { requireSession } from '../../src/services/sessions.js';
import { dot, hasWords } from '../../src/embedder.js';
import { harness, tenant, type Harness } from '../helpers.js';

function wordsOf(h: Harness) {
  if (!hasWords(h.deps.embedder)) throw new Error('expected the word-vector embedder');
  return h.deps.embedder.words;
}

const filler = [
  'The deployment pipeline failed again because of a missing environment variable.',
  'I reviewed the pull request and left comments about the database migration.',
  'Can you send me the quarterly budget spreadsheet before the meeting?',
  'The server logs show a timeout when the cache is cold.',
  'We should rename that function, the current name is confusing.',
  'The invoice from the vendor was paid on Tuesday.',
];
const hobby = 'Last weekend we went camping by the lake and hiked up into the mountains with the kids.';

describe('semantic seeds on PGlite with word vectors', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(() => openPglite(), { CONTEXT_LOCAL_EMBEDDER: 'word-vectors' });
  });
  afterAll(async () => h.close());

  it('finds a turn by meaning when no word matches, and it reaches the context', async () => {
    const c = await tenant(h);
    // Enough turns that the budget cannot hold them all, with the one that answers in the middle.
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) => `${filler[i % filler.length]} (ticket ${1000 + i})`);
    const turns = [...many(40), hobby, ...many(40)].map((content, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content,
    }));
    expect((await c.call('POST', '/v1/sessions/s1/turns', { turns })).status).toBe(201);
    const query = 'What outdoor activities does her family enjoy?';

    const session = await requireSession({ ...h.deps, tenantId: c.tenantId } as never, 's1');
    const source = sqlTurnSource(h.deps.store, c.tenantId, 's1');
    const seeds = await semanticSeeds({ source, words: wordsOf(h), tenantId: c.tenantId, session, query, count: 1 });
    expect(seeds).toEqual([41]);

    const res = await c.call('POST', '/v1/sessions/s1/context', { query, budget_tokens: 400 });
    expect(res.status).toBe(200);
    const text = JSON.stringify(res.json);
    expect(text).toContain('camping by the lake');
    // The budget did not simply hold everything: most of the 81 turns are left out.
    const shown = turns.filter((t) => res.json.rendered.text.includes(t.content)).length;
    expect(shown).toBeLessThan(turns.length / 2);
  });

  it('reads only newer turns on later queries and starts afresh for a re-created session', async () => {
    const c = await tenant(h);
    const write = (contents: string[]) =>
      c.call('POST', '/v1/sessions/s2/turns', { turns: contents.map((content) => ({ role: 'user', content })) });
    expect((await write(filler)).status).toBe(201);
    const query = 'Which sports do they play at the weekend?';
    // Every read the index makes, through the session's in-process copy (as QueryContext does for small sessions).
    const reads: number[] = [];
    const seedsNow = async (count: number) => {
      const session = await requireSession({ ...h.deps, tenantId: c.tenantId } as never, 's2');
      const copy = await snapshotTurnSource(h.deps.store, c.tenantId, session);
      const source = { conversation: (after: number) => (reads.push(after), copy.conversation(after)) };
      return semanticSeeds({ source, words: wordsOf(h), tenantId: c.tenantId, session, query, count });
    };
    const before = await seedsNow(1);
    expect(reads).toEqual([0]);
    expect((await write(['On Saturdays I play football and my brother plays tennis.'])).status).toBe(201);
    expect(await seedsNow(1)).toEqual([filler.length + 1]);
    expect(reads).toEqual([0, filler.length]); // only the turn written since
    expect(await seedsNow(1)).toEqual([filler.length + 1]);
    expect(reads).toEqual([0, filler.length]); // nothing new: no read at all
    expect(before).not.toEqual([filler.length + 1]);

    expect((await c.call('DELETE', '/v1/sessions/s2')).status).toBe(204);
    expect((await write(filler.slice(0, 3))).status).toBe(201);
    const after = await seedsNow(10);
    expect(after.every((s) => s >= 1 && s <= 3)).toBe(true);
  });

  it('sentence vectors: the nearest turn as a whole, computed once per turn, and forgotten with the session', async () => {
    const c = await tenant(h);
    const turns = [...filler, hobby, ...filler].map((content, i) => ({ role: i % 2 ? 'assistant' : 'user', content }));
    expect((await c.call('POST', '/v1/sessions/s3/turns', { turns })).status).toBe(201);
    const query = 'What outdoor activities does her family enjoy?';
    const reads: number[] = [];
    const nearest = async (count = 1) => {
      const session = await requireSession({ ...h.deps, tenantId: c.tenantId } as never, 's3');
      const copy = await snapshotTurnSource(h.deps.store, c.tenantId, session);
      const source = { conversation: (after: number) => (reads.push(after), copy.conversation(after)) };
      return vectorSeeds({
        store: h.deps.store,
        embedder: h.deps.embedder!,
        source,
        session: { ...session, tenantId: c.tenantId },
        query,
        count,
      });
    };
    const first = await nearest();
    expect(first.seeds).toEqual([filler.length + 1]);
    // The vectors it searched serve the ranking: the query's own, and each turn's by sequence.
    expect(first.vectors!.query.length).toBe(100);
    const [q, answer] = await h.deps.embedder!.embed([query, hobby]);
    const similarity = first.vectors!.similarity(filler.length + 1)!;
    expect(Math.abs(similarity - dot(q!, answer!))).toBeLessThan(0.02); // the int8 form keeps the cosine
    expect(similarity).toBeGreaterThan(first.vectors!.similarity(1)!);
    expect(first.vectors!.similarity(999)).toBeUndefined();
    // Read from the search's scan, or worked out on demand when nothing was scanned: the same number.
    const unscanned = (await nearest(0)).vectors!;
    for (let sequence = 1; sequence <= filler.length + 1; sequence++)
      expect(first.vectors!.similarity(sequence)).toBe(unscanned.similarity(sequence));
    expect((await nearest()).seeds).toEqual([filler.length + 1]);
    expect(reads).toEqual([0]); // nothing new: no read at all
    expect(
      (
        await c.call('POST', '/v1/sessions/s3/turns', {
          turns: [{ role: 'user', content: 'Her family enjoys outdoor activities such as camping.' }],
        })
      ).status,
    ).toBe(201);
    expect((await nearest()).seeds).toEqual([turns.length + 1]);
    expect(reads).toEqual([0, turns.length]); // only the turn written since

    // A query through the API indexes the session's words and sentence vectors; deleting it drops both here.
    expect((await c.call('POST', '/v1/sessions/s3/context', { query, budget_tokens: 300 })).status).toBe(200);
    const words = wordIndexStats().sessions;
    const vectors = vectorStats().sessions;
    expect((await c.call('DELETE', '/v1/sessions/s3')).status).toBe(204);
    expect(wordIndexStats().sessions).toBe(words - 1);
    expect(vectorStats().sessions).toBe(vectors - 1);
    expect((await c.call('POST', '/v1/sessions/s3/turns', { turns: turns.slice(0, 2) })).status).toBe(201);
    expect((await nearest()).seeds.every((s) => s <= 2)).toBe(true);
  });
  it('the word index and the sentence vectors share one read of the newest turns per query', async () => {
    const c = await tenant(h);
    const write = (contents: string[]) =>
      c.call('POST', '/v1/sessions/s4/turns', {
        turns: contents.map((content, i) => ({ role: i % 2 ? 'assistant' : 'user', content })),
      });
    expect((await write([...filler, hobby])).status).toBe(201);
    const reads: number[] = [];
    const seeds = async () => {
      const ctx = { ...h.deps, tenantId: c.tenantId } as never;
      const session = await requireSession(ctx, 's4');
      const copy = await snapshotTurnSource(h.deps.store, c.tenantId, session);
      const source = { conversation: (after: number) => (reads.push(after), copy.conversation(after)) };
      return meaningSeeds(
        ctx,
        session,
        { query: 'What outdoor activities does her family enjoy?', budget_tokens: 1000, reserve_tokens: 0 },
        source,
      );
    };
    expect((await seeds()).seeds).toContain(filler.length + 1); // both searches found the hobby turn…
    expect(reads).toEqual([0]); // …from one read
    expect((await write(['We also went kayaking on the river with the children.'])).status).toBe(201);
    expect((await seeds()).seeds).toContain(filler.length + 2);
    expect(reads).toEqual([0, filler.length + 1]); // one read of the turn written since
  });

  it('searches a misspelt query word also as its likely spelling', async () => {
    const words = wordsOf(h);
    expect(correction(words, 'torunament')).toBe('tournament'); // two letters swapped
    expect(correction(words, 'funraiser')).toBe('fundraiser'); // a letter dropped
    expect(correction(words, 'educaton')).toBe('education');
    expect(correction(words, 'desert')).toBeUndefined(); // a known word is not "corrected"
    expect(correction(words, 'Torunament')).toBeUndefined(); // capitalised: a name, left alone
    expect(correction(words, 'iwth')).toBeUndefined(); // too short to guess
    expect(correction(words, 'qzxjvbk')).toBeUndefined(); // nothing one edit away
    expect(withSpellings(words, 'Which tournament did she win?')).toBe('Which tournament did she win?');

    const c = await tenant(h);
    const won = 'I finally won the regional chess tournament yesterday!';
    const turns = [...filler, won, ...filler].map((content, i) => ({ role: i % 2 ? 'assistant' : 'user', content }));
    expect((await c.call('POST', '/v1/sessions/s5/turns', { turns })).status).toBe(201);
    const query = 'Which torunament did she play in?';
    const ctx = { ...h.deps, tenantId: c.tenantId } as never;
    const source = sqlTurnSource(h.deps.store, c.tenantId, 's5');
    const raw = await historyCandidates(source, h.deps.store, query, { totalTurns: turns.length });
    expect(raw.candidates.some((x) => x.content === won)).toBe(false);
    const searched = await historyCandidates(source, h.deps.store, searchText(ctx, query), {
      totalTurns: turns.length,
    });
    expect(searched.terms).toContainEqual({ lexeme: 'tournament', df: 1 });
    expect(searched.candidates.find((x) => x.content === won)?.seed).toBe(true);

    const res = await c.call('POST', '/v1/sessions/s5/context', { query, budget_tokens: 300 });
    expect(res.status).toBe(200);
    expect(res.json.rendered.text).toContain(won);
  });
});
