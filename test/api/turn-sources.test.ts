// The database and the in-process copy of a session answer every read identically (both stores), whole contexts match
// with copies on or off, and the copy follows writes, never runs ahead of the session row, and resets on re-creation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ctx } from '../../src/ports.js';
import { queryLexemes, sqlTurnSource, type TimeRange, type TurnSource } from '../../src/pipeline/retriever/index.js';
import { speakerLexemesOf } from '../../src/pipeline/retriever/sql-source.js';
import {
  forgetSnapshot,
  snapshotAdmits,
  snapshotStats,
  snapshotTurnSource,
} from '../../src/pipeline/retriever/snapshot.js';
import { termMatchStats } from '../../src/pipeline/retriever/term-matches.js';
import { informativeness } from '../../src/pipeline/retriever/informative.js';
import { candidateRowStats } from '../../src/pipeline/retriever/candidate-rows.js';
import { sharedLexicon } from '../../src/pipeline/retriever/lexemes.js';
import { rankSignals, signalValues, type Candidate } from '../../src/pipeline/retriever/rank.js';
import type { CandidateRow } from '../../src/pipeline/retriever/types.js';
import { readRows, type Store } from '../../src/db/store.js';
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { buildApp } from '../../src/http/routes/index.js';
import { requireSession, sessionCachePrefix } from '../../src/services/sessions.js';
import { backends, harness, tenant, type Client, type Harness } from '../helpers.js';

const day = (d: number, h = 9) => new Date(Date.UTC(2025, 2, d, h)).toISOString();

/** A session with every kind of turn: system rules, names, calls and results (one answered far away), quotes. */
function turnsOf(n: number) {
  const out: Record<string, unknown>[] = [
    { role: 'system', content: 'Never book flights on a Sunday.', created_at: day(1, 8) },
  ];
  for (let i = 0; i < n; i++) {
    const d = 1 + Math.floor(i / 6);
    const topic = [
      'hiking trip',
      "Anna's birthday",
      'invoice INV-4471',
      'the pottery class',
      'reservation QX7Z',
      'kitchen renovation',
    ][i % 6];
    if (i % 9 === 4) {
      out.push({
        role: 'assistant',
        content: '',
        tool_calls: [{ id: `call-${i}`, name: 'lookup', arguments: JSON.stringify({ ref: `R${i}` }) }],
        created_at: day(d),
      });
      out.push({
        role: 'tool',
        name: 'lookup',
        tool_call_id: `call-${i}`,
        content: JSON.stringify({ ref: `R${i}`, status: 'confirmed', total: 100 + i }),
        created_at: day(d),
      });
    } else {
      out.push({
        role: i % 2 ? 'assistant' : 'user',
        ...(i % 2 ? {} : { name: 'Caroline' }),
        content: `Turn ${i} about the ${topic}: ${i % 3 ? "entrepreneurs'" : 'entrepreneurial'} "plans" ${i % 4 ? 'went well' : 'were postponed'}.`,
        created_at: day(d, 9 + (i % 8)),
      });
    }
  }
  // A result whose call was made long before (outside the three call turns just before it).
  out.push({
    role: 'assistant',
    content: 'Checking.',
    tool_calls: [{ id: 'late-call', name: 'status', arguments: '{}' }],
    created_at: day(20),
  });
  for (let i = 0; i < 4; i++)
    out.push({
      role: 'assistant',
      content: `Step ${i}.`,
      tool_calls: [{ id: `x-${i}`, name: 'noop', arguments: '{}' }],
      created_at: day(20),
    });
  out.push({
    role: 'tool',
    name: 'status',
    tool_call_id: 'late-call',
    content: '{"status":"done"}',
    created_at: day(20),
  });
  return out;
}

/** `store` with every statement it sends, reads included, shown to `seen` first. */
const watched = (store: Store, seen: (q: SQL) => void): Store => ({
  ...store,
  query: (q) => (seen(q), store.query(q)),
  read: (q) => (seen(q), readRows(store, q)),
});

/**
 * A tenant whose session `sessionId` holds `n` written turns, and a store over the harness's that notes in `sent`
 * what `note` takes of each statement sent through it (its SQL text or parameters).
 */
async function watchedSession<T>(
  h: Harness,
  sessionId: string,
  n: number,
  note: (q: { sql: string; params: unknown[] }) => T,
) {
  const c = await tenant(h);
  const ctx = { ...h.deps, tenantId: c.tenantId } as unknown as Ctx;
  expect((await c.call('POST', `/v1/sessions/${sessionId}/turns`, { turns: turnsOf(n) })).status).toBe(201);
  const sent: T[] = [];
  const dialect = new PgDialect();
  const counting = watched(h.deps.store, (q) => sent.push(note(dialect.sqlToQuery(q))));
  return { c, ctx, sent, counting };
}

const ranges: (TimeRange | undefined)[] = [
  undefined,
  { from: day(3) },
  { to: day(5, 12) },
  { from: day(2), to: day(6) },
];
const queries = [
  'What did Caroline say about pottery classes?',
  'invoice INV-4471 status',
  "Anna's birthday plans",
  'entrepreneur renovation reservation QX7Z',
];

async function sources(
  h: Harness,
  c: Client,
  sessionId: string,
): Promise<{ db: TurnSource; copy: TurnSource; last: number }> {
  const ctx = { ...h.deps, tenantId: c.tenantId } as unknown as Ctx;
  const session = await requireSession(ctx, sessionId);
  return {
    db: sqlTurnSource(h.deps.store, c.tenantId, sessionId),
    copy: await snapshotTurnSource(h.deps.store, c.tenantId, session),
    last: session.last_sequence,
  };
}

/**
 * Rows as read: lexemes compared by what they hold (a copy's or the remembered rows' are numbered in a lexicon, a
 * fresh read's parsed), and a kept informativeness must be the turn's own.
 */
const held = (rows: Awaited<ReturnType<TurnSource['rows']>>) =>
  rows.map(({ informativeness: kept, ...r }) => {
    if (kept !== undefined) expect(kept).toBe(informativeness(r.turn.content));
    return { ...r, lexemes: { tf: [...r.lexemes.tf], length: r.lexemes.length } };
  });

/** A row as ranking sees it (as the history's candidates are built). */
const candidateOf = ({ turn, lexemes, speakerLexemes, informativeness }: CandidateRow): Candidate => ({
  id: turn.id,
  sequence: turn.sequence,
  createdAt: turn.created_at,
  content: turn.content,
  lexemes,
  speakerLexemes,
  informativeness,
});

async function expectSameReads(h: Harness, db: TurnSource, copy: TurnSource, last: number) {
  for (const range of ranges) {
    for (const [recent, tools] of [
      [5, 40],
      [50, 3],
      [1, 1],
    ] as const)
      expect(await copy.structural(recent, range, tools)).toEqual(await db.structural(recent, range, tools));
    for (const query of queries) {
      const lexemes = (await queryLexemes(h.deps.store, query, 16)).map((lexeme) => ({
        lexeme,
        prefix: lexeme.length >= 4,
      }));
      expect(lexemes.length).toBeGreaterThan(1);
      for (const perTerm of [2, 500])
        expect(await copy.matches(lexemes, perTerm, range)).toEqual(await db.matches(lexemes, perTerm, range));
    }
    const sequences = [0, 1, 2, 7, 8, 9, 30, last, last + 1, last + 5];
    expect((await copy.rows(sequences, range)).every((r) => r.informativeness !== undefined)).toBe(true);
    expect(held(await copy.rows(sequences, range))).toEqual(held(await db.rows(sequences, range)));
  }
  const results = (await db.structural(5, undefined, 40)).tool;
  expect(results.length).toBeGreaterThanOrEqual(3);
  expect(await copy.callTurns(results)).toEqual(await db.callTurns(results));
  const late = results.filter((r) => r.tool_call_id === 'late-call');
  expect(late).toHaveLength(1);
  const calls = await copy.callTurns(late);
  expect(calls.some((t) => t.tool_calls?.some((call) => call.id === 'late-call'))).toBe(true);
  expect(calls).toEqual(await db.callTurns(late));
  for (const after of [0, 1, 10, last - 3, last, last + 2])
    expect(await copy.conversation(after)).toEqual(await db.conversation(after));
  expect((await db.conversation(0)).every((t) => t.sequence >= 1 && t.sequence <= last)).toBe(true);
  expect((await db.conversation(0)).length).toBeGreaterThan(10);
}

describe.each(backends)('turn sources on $name', ({ open }) => {
  let h: Harness;
  let off: Harness;
  beforeAll(async () => {
    h = await harness(open);
    off = { ...h, app: buildApp({ ...h.deps, env: { ...h.deps.env, CONTEXT_SESSION_COPY_MAX_TURNS: 0 } }) };
  });
  afterAll(async () => h.close());

  it('the in-process copy answers every read as the database does', async () => {
    const c = await tenant(h);
    expect((await c.call('POST', '/v1/sessions/s/turns', { turns: turnsOf(60) })).status).toBe(201);
    const { db, copy, last } = await sources(h, c, 's');
    expect(last).toBeGreaterThan(60);
    await expectSameReads(h, db, copy, last);
  });

  it('follows later writes and shows a request only the turns its session row counts', async () => {
    const c = await tenant(h);
    expect((await c.call('POST', '/v1/sessions/s/turns', { turns: turnsOf(20) })).status).toBe(201);
    const before = await sources(h, c, 's');
    // Prefix lookups before the write, so the copy's sorted lexemes exist and take the new ones in by merging.
    await expectSameReads(h, before.db, before.copy, before.last);
    const earlier = await before.copy.structural(3, undefined, 40);
    expect(
      (
        await c.call('POST', '/v1/sessions/s/turns', {
          turns: [{ role: 'user', content: 'A new turn about the pottery classroom and its potteries.' }],
        })
      ).status,
    ).toBe(201);
    const after = await sources(h, c, 's');
    expect(after.last).toBe(before.last + 1);
    await expectSameReads(h, after.db, after.copy, after.last);
    // The copy now holds the new turn; a request that read the session before the write still does not see it.
    expect(await before.copy.structural(3, undefined, 40)).toEqual(earlier);
    expect((await before.copy.conversation(0)).map((t) => t.sequence)).toEqual(
      (await after.copy.conversation(0)).map((t) => t.sequence).slice(0, -1),
    );
    expect((await after.copy.structural(1, undefined, 40)).recent[0]!.content).toBe(
      'A new turn about the pottery classroom and its potteries.',
    );
  });

  it('a session deleted and created again under its id is read afresh, and deletion drops the copy', async () => {
    const c = await tenant(h);
    expect(
      (await c.call('POST', '/v1/sessions/s/turns', { turns: [{ role: 'user', content: 'old secret plan' }] })).status,
    ).toBe(201);
    await sources(h, c, 's');
    expect((await c.call('DELETE', '/v1/sessions/s')).status).toBe(204);
    expect(
      (await c.call('POST', '/v1/sessions/s/turns', { turns: [{ role: 'user', content: 'brand new start' }] })).status,
    ).toBe(201);
    const res = await c.call('POST', '/v1/sessions/s/context', { query: 'secret plan', budget_tokens: 500 });
    expect(res.status).toBe(200);
    expect(res.json.rendered.text).toContain('brand new start');
    expect(res.json.rendered.text).not.toContain('old secret plan');
    forgetSnapshot(c.tenantId, 's'); // idempotent
  });

  it('copies stay within their memory bound, the least recently used going first, and still answer', async () => {
    const c = await tenant(h);
    const ctx = { ...h.deps, tenantId: c.tenantId } as unknown as Ctx;
    for (const id of ['m1', 'm2', 'm3'])
      expect((await c.call('POST', `/v1/sessions/${id}/turns`, { turns: turnsOf(30) })).status).toBe(201);
    const copy = async (id: string, maxBytes: number) =>
      snapshotTurnSource(h.deps.store, c.tenantId, await requireSession(ctx, id), maxBytes);
    const one = await copy('m1', 1e9);
    const { bytes: withOne } = snapshotStats();
    const perSession =
      withOne -
      (await (async () => {
        forgetSnapshot(c.tenantId, 'm1');
        return snapshotStats().bytes;
      })());
    expect(perSession).toBeGreaterThan(30 * 1_024);
    // Room for about two of these sessions beside whatever else this process holds.
    const bound = snapshotStats().bytes + 2.5 * perSession;
    await copy('m1', bound);
    await copy('m2', bound);
    expect(snapshotStats().bytes).toBeLessThanOrEqual(bound);
    const third = await copy('m3', bound);
    expect(snapshotStats().bytes).toBeLessThanOrEqual(bound);
    // The newest copy is kept and answers as the database does; an evicted one is read again on demand.
    await expectSameReads(
      h,
      sqlTurnSource(h.deps.store, c.tenantId, 'm3'),
      third,
      (await requireSession(ctx, 'm3')).last_sequence,
    );
    expect(await (await copy('m1', 1e9)).structural(5, undefined, 40)).toEqual(await one.structural(5, undefined, 40));
  });

  it('a session not yet copied is copied only beside copies in use when it fits, else read from the database', async () => {
    const c = await tenant(h);
    const ctx = { ...h.deps, tenantId: c.tenantId } as unknown as Ctx;
    for (const id of ['a1', 'a2', 'a3'])
      expect((await c.call('POST', `/v1/sessions/${id}/turns`, { turns: turnsOf(30) })).status).toBe(201);
    const session = (id: string) => requireSession(ctx, id);
    const scope = (id: string) => ({ kind: 'session' as const, id });
    const before = snapshotStats().bytes;
    await snapshotTurnSource(h.deps.store, c.tenantId, await session('a1'), 1e12);
    const perSession = snapshotStats().bytes - before;
    // The estimate from the session's counts is within a factor of two of the copy's own.
    const a2 = await session('a2');
    expect(snapshotAdmits(c.tenantId, scope('a2'), a2, before + 1.5 * perSession, 60_000)).toBe(false);
    await snapshotTurnSource(h.deps.store, c.tenantId, a2, 1e12);
    const bound = snapshotStats().bytes + 0.5 * perSession;
    const a3 = await session('a3');
    // No room beside two copies just read: the database answers.
    expect(snapshotAdmits(c.tenantId, scope('a3'), a3, bound, 60_000)).toBe(false);
    // Held copies are always read; copies idle for longer than `idleMs` make room.
    expect(snapshotAdmits(c.tenantId, scope('a2'), a2, bound, 60_000)).toBe(true);
    expect(snapshotAdmits(c.tenantId, scope('a3'), a3, bound, 60_000, Date.now() + 61_000)).toBe(true);
    expect(snapshotAdmits(c.tenantId, scope('a3'), a3, 1e12, 60_000)).toBe(true);
    forgetSnapshot(c.tenantId, 'a1');
    forgetSnapshot(c.tenantId, 'a2');
  });

  it('remembered term matches read only newer matches, never past the request, and equal a fresh read', async () => {
    const { c, ctx, sent: statements, counting } = await watchedSession(h, 'big', 60, (q) => q.sql);
    const lexemesOf = async (query: string) =>
      (await queryLexemes(h.deps.store, query, 16)).map((lexeme) => ({ lexeme, prefix: lexeme.length >= 4 }));
    const first = await requireSession(ctx, 'big');
    const remembered = sqlTurnSource(counting, c.tenantId, 'big', first);
    const fresh = () => sqlTurnSource(h.deps.store, c.tenantId, 'big');
    const before: number[][][] = [];
    for (const query of queries) {
      const lexemes = await lexemesOf(query);
      for (const perTerm of [2, 500]) {
        const got = await remembered.matches(lexemes, perTerm, undefined);
        expect(got).toEqual(await fresh().matches(lexemes, perTerm, undefined));
        before.push(got);
      }
    }
    const held = termMatchStats().terms;
    expect(held).toBeGreaterThan(0);
    // Asked again at the same session row: answered from memory, no statement.
    statements.length = 0;
    for (const query of queries)
      expect(await remembered.matches(await lexemesOf(query), 2, undefined)).toEqual(
        await fresh().matches(await lexemesOf(query), 2, undefined),
      );
    expect(statements).toEqual([]);

    // Later writes that match the terms: a newer session row reads only what came after, and agrees with a fresh read.
    const later = [
      { role: 'user', content: 'Caroline booked the pottery class and paid invoice INV-4471.' },
      { role: 'assistant', content: "Anna's birthday plans: reservation QX7Z." },
    ];
    expect((await c.call('POST', '/v1/sessions/big/turns', { turns: later })).status).toBe(201);
    const second = await requireSession(ctx, 'big');
    const newer = sqlTurnSource(counting, c.tenantId, 'big', second);
    for (const query of queries) {
      const lexemes = await lexemesOf(query);
      statements.length = 0;
      const got = await newer.matches(lexemes, 500, undefined);
      expect(got).toEqual(await fresh().matches(lexemes, 500, undefined));
      expect(got.some((m) => m[0] === second.last_sequence || m[0] === second.last_sequence - 1)).toBe(true);
      expect(statements).toHaveLength(1);
      expect(statements[0]).toMatch(/sequence > /);
      // Its terms' newer matches are found among the newer turns read once, not by a search per term.
      expect(statements[0]).not.toMatch(/@@/);
    }
    // A request holding the older session row still sees the session as it was, and does not overwrite the newer
    // memory.
    let k = 0;
    for (const query of queries) {
      const lexemes = await lexemesOf(query);
      for (const perTerm of [2, 500])
        expect(await remembered.matches(lexemes, perTerm, undefined)).toEqual(before[k++]);
    }
    statements.length = 0;
    for (const query of queries) await newer.matches(await lexemesOf(query), 500, undefined);
    expect(statements).toEqual([]);

    // Past a few hundred newer turns each term is searched for its newer matches again, with the same answers.
    const many = Array.from({ length: 300 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: i % 7 ? `Note ${i} on nothing in particular.` : `Caroline's pottery class ${i} and reservation QX7Z.`,
    }));
    expect((await c.call('POST', '/v1/sessions/big/turns', { turns: many })).status).toBe(201);
    const third = sqlTurnSource(counting, c.tenantId, 'big', await requireSession(ctx, 'big'));
    for (const query of queries) {
      const lexemes = await lexemesOf(query);
      statements.length = 0;
      expect(await third.matches(lexemes, 500, undefined)).toEqual(await fresh().matches(lexemes, 500, undefined));
      expect(statements).toHaveLength(1);
      expect(statements[0]).toMatch(/@@/);
    }

    // Deleting the session forgets its terms.
    expect((await c.call('DELETE', '/v1/sessions/big')).status).toBe(204);
    expect(termMatchStats().terms).toBeLessThan(held);
  });

  it('remembered candidate rows equal a fresh read, and only rows not seen before are read', async () => {
    const { c, ctx, sent: params, counting } = await watchedSession(h, 'rows', 40, (q) => q.params);
    const session = await requireSession(ctx, 'rows');
    // The speaker's name is known to this process already (its own statement, tested below).
    await speakerLexemesOf(h.deps.store, ['Caroline']);
    const remembered = sqlTurnSource(counting, c.tenantId, 'rows', session);
    const fresh = sqlTurnSource(h.deps.store, c.tenantId, 'rows');
    const first = [3, 1, 2, 9, 9, session.last_sequence + 3];
    expect(held(await remembered.rows(first, undefined))).toEqual(held(await fresh.rows(first, undefined)));
    expect(params).toHaveLength(1);
    const kept = candidateRowStats().rows;
    expect(kept).toBeGreaterThanOrEqual(4);

    params.length = 0;
    const second = [1, 2, 3, 9, 10, 11, 30];
    const rows = await remembered.rows(second, undefined);
    expect(held(rows)).toEqual(held(await fresh.rows(second, undefined)));
    expect(params).toHaveLength(1);
    expect(params[0]).toContain('{10,11,30}'); // only the sequences not read before
    // Rows read at different times share the session's lexicon, so ranking counts their lexemes by id, and ranks
    // them as it ranks the rows read afresh.
    expect(sharedLexicon(rows)).toBeDefined();
    expect(rows.every((r) => r.informativeness !== undefined)).toBe(true);
    const terms = (await queryLexemes(h.deps.store, 'entrepreneur hiking trip postponed', 8)).map((l) => ({
      lexeme: l,
      df: 3,
    }));
    expect(terms.length).toBeGreaterThan(1);
    const ranked = (r: CandidateRow[]) =>
      rankSignals({ candidates: r.map((x) => candidateOf(x)), terms, totalTurns: 40 }).map((x) => ({
        ...signalValues(x),
        candidate: x.candidate.id,
      }));
    expect(ranked(rows)).toEqual(ranked(await fresh.rows(second, undefined)));
    params.length = 0;
    expect(held(await remembered.rows([30, 1, 10], undefined))).toEqual(held(await fresh.rows([1, 10, 30], undefined)));
    expect(params).toEqual([]);
    // A time range reads as before.
    const range = { from: day(3) };
    expect(await remembered.rows(second, range)).toEqual(await fresh.rows(second, range));
    expect(params).toHaveLength(1);

    expect((await c.call('DELETE', '/v1/sessions/rows')).status).toBe(204);
    expect(candidateRowStats().rows).toBe(kept + 3 - 7); // the session's seven rows are gone
    expect(
      (
        await c.call('POST', '/v1/sessions/rows/turns', {
          turns: [{ role: 'user', content: 'a different first turn' }],
        })
      ).status,
    ).toBe(201);
    const again = sqlTurnSource(h.deps.store, c.tenantId, 'rows', await requireSession(ctx, 'rows'));
    expect((await again.rows([1], undefined)).map((r) => r.turn.content)).toEqual(['a different first turn']);
  });

  it('speakers’ lexemes are the database’s, one statement for the names not known yet', async () => {
    const names = [
      'Ana-Lúcia O’Brien',
      'x", y',
      '{Bob}',
      "back\\slash 'quoted'",
      '  ',
      'Dr. Jürgen Müller',
      '日本語 名前',
    ];
    const { sent, counting } = await watchedSession(h, 'speakers', 2, (q) => q.params);
    const direct = async (name: string) =>
      (
        await readRows<{ l: string }>(
          h.deps.store,
          sql`SELECT array_to_string(tsvector_to_array(to_tsvector('english', ${name})), ' ') AS l`,
        )
      )[0]!.l;
    const of = await speakerLexemesOf(counting, [...names, null, names[0]!]);
    expect(sent).toHaveLength(1);
    for (const name of names) expect(of(name).join(' ')).toBe(await direct(name));
    expect(of('Ana-Lúcia O’Brien').length).toBeGreaterThan(1);
    expect(of(null)).toEqual([]);
    sent.length = 0;
    const again = await speakerLexemesOf(counting, [names[2]!, 'Someone New']);
    expect(sent).toHaveLength(1); // only the new name
    expect(again(names[2]!)).toEqual(of(names[2]!));
    expect(again('Someone New').join(' ')).toBe(await direct('Someone New'));
    sent.length = 0;
    await speakerLexemesOf(counting, names);
    await speakerLexemesOf(counting, [null, '']);
    expect(sent).toEqual([]);
    // Deleting a session forgets the names this process remembered: they are asked for again.
    const c = await tenant(h);
    expect((await c.call('POST', '/v1/sessions/gone/turns', { turns: [{ role: 'user', content: 'hi' }] })).status).toBe(
      201,
    );
    expect((await c.call('DELETE', '/v1/sessions/gone')).status).toBe(204);
    expect((await speakerLexemesOf(counting, names))(names[0]!)).toEqual(of(names[0]!));
    expect(sent).toHaveLength(1);
  });

  it('remembered structural candidates equal a fresh read and read only the turns written since', async () => {
    const { c, ctx, sent: statements, counting } = await watchedSession(h, 'st', 30, (q) => q.sql);
    const fresh = () => sqlTurnSource(h.deps.store, c.tenantId, 'st');
    const remembered = async () => sqlTurnSource(counting, c.tenantId, 'st', await requireSession(ctx, 'st'));
    const limits = [
      [5, 40],
      [2, 3],
      [50, 40],
    ] as const;
    const same = async (source: TurnSource) => {
      for (const [recent, tools] of limits)
        expect(await source.structural(recent, undefined, tools)).toEqual(
          await fresh().structural(recent, undefined, tools),
        );
    };

    const first = await remembered();
    await same(first);
    expect(statements).toHaveLength(2); // the first read, then a read for more recent turns than were held
    statements.length = 0;
    await same(first);
    expect(statements).toEqual([]);
    // The calls behind the results: read once per result, then remembered.
    const results = (await first.structural(5, undefined, 40)).tool;
    expect(results.length).toBeGreaterThanOrEqual(3);
    const calls = await first.callTurns(results.slice(0, -1));
    expect(calls).toEqual(await fresh().callTurns(results.slice(0, -1)));
    expect(calls.some((t) => t.tool_calls?.some((call) => call.id === 'late-call'))).toBe(true);
    statements.length = 0;
    expect(await first.callTurns(results)).toEqual(await fresh().callTurns(results));
    expect(statements.filter((q) => /LATERAL/.test(q))).toHaveLength(1); // only the result not asked about before
    statements.length = 0;
    expect(await first.callTurns(results.slice(2))).toEqual(await fresh().callTurns(results.slice(2)));
    expect(statements.filter((q) => /LATERAL/.test(q))).toEqual([]);

    // A small write: the next request reads only the new turns; system turns, calls and results among them included.
    const later = [
      { role: 'system', content: 'Prices are in euros.' },
      { role: 'user', content: 'What did the lookup say?' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ id: 'call-new', name: 'lookup', arguments: '{}' }],
      },
      {
        role: 'tool',
        name: 'lookup',
        tool_call_id: 'call-new',
        content: '{"status":"open"}',
      },
      { role: 'assistant', content: 'It is open.' },
    ];
    expect((await c.call('POST', '/v1/sessions/st/turns', { turns: later })).status).toBe(201);
    const second = await remembered();
    statements.length = 0;
    await same(second);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/sequence > /);
    expect((await second.structural(1, undefined, 1)).tool[0]!.content).toBe('{"status":"open"}');
    expect((await second.structural(5, undefined, 40)).system.map((t) => t.content)).toEqual([
      'Never book flights on a Sunday.',
      'Prices are in euros.',
    ]);
    // A request that read the session row before the write still sees the session as it was.
    expect((await first.structural(1, undefined, 40)).recent[0]!.content).not.toBe('It is open.');

    // Many turns written since: one whole read again, still equal to a fresh one.
    const many = Array.from({ length: 300 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `Bulk ${i}.`,
    }));
    expect(
      (
        await c.call('POST', '/v1/sessions/st/turns', {
          turns: many.slice(0, 150),
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await c.call('POST', '/v1/sessions/st/turns', {
          turns: many.slice(150),
        })
      ).status,
    ).toBe(201);
    const third = await remembered();
    statements.length = 0;
    await same(third);
    expect(statements.some((q) => /UNION ALL/.test(q))).toBe(true);

    // Deleting the session forgets them: a session created again under the id is read afresh.
    expect((await c.call('DELETE', '/v1/sessions/st')).status).toBe(204);
    expect(
      (
        await c.call('POST', '/v1/sessions/st/turns', {
          turns: [{ role: 'user', content: 'anew' }],
        })
      ).status,
    ).toBe(201);
    expect((await (await remembered()).structural(5, undefined, 40)).recent.map((t) => t.content)).toEqual(['anew']);
  });

  it('whole contexts are the same with the copies on and off', async () => {
    const c = await tenant(h);
    expect((await c.call('POST', '/v1/sessions/s/turns', { turns: turnsOf(80) })).status).toBe(201);
    const ask = async (app: Harness['app'], body: unknown) => {
      // Nothing from the answer cache: each answer is assembled by the path under test.
      await h.deps.cache.deletePrefix(sessionCachePrefix(c.tenantId, 's'));
      const res = await app.request('/v1/sessions/s/context', {
        method: 'POST',
        headers: { authorization: `Bearer ${c.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      const json = await res.json();
      expect(json.cached).toBe(false);
      return { text: json.rendered.text as string, envelope: json.envelope };
    };
    let compared = 0;
    for (const query of [...queries, undefined]) {
      for (const budget_tokens of [300, 1500]) {
        for (const time_range of [undefined, { from: day(4) }]) {
          const body = { ...(query ? { query } : {}), budget_tokens, ...(time_range ? { time_range } : {}) };
          const fromDb = await ask(off.app, body);
          forgetSnapshot(c.tenantId, 's');
          const fromNewCopy = await ask(h.app, body);
          const fromHeldCopy = await ask(h.app, body);
          expect(fromNewCopy).toEqual(fromDb);
          expect(fromHeldCopy).toEqual(fromDb);
          expect(fromDb.text.length).toBeGreaterThan(0);
          compared++;
        }
      }
    }
    expect(compared).toBe(20);
  });
});
