import { beforeAll, describe, expect, it } from 'vitest';
import { plan, type Item } from '../../src/pipeline/planner.js';
import type { TurnRow } from '../../src/pipeline/retriever/index.js';
import {
  callIndex,
  callOf,
  callsShownWithResults,
  digestContent,
  digestPrefixTokens,
  digestValues,
  dropUnansweredCalls,
  findings,
  gatherFindings,
  keepFor,
  settleFindings,
  shrinkDigest,
  toolActive,
  toolShares,
} from '../../src/pipeline/tool-findings.js';
import { sectionNames, type SectionName } from '../../src/schemas/context.js';
import { getTokenizer, type Tokenizer } from '../../src/tokenizer.js';
import { rng, type Rng } from '../fence-check.js';

let tok: Tokenizer;
beforeAll(async () => {
  tok = await getTokenizer();
});

let n = 0;
const turn = (sequence: number, role: TurnRow['role'], content: string, extra: Partial<TurnRow> = {}): TurnRow => ({
  id: `t${sequence}-${++n}`,
  sequence,
  role,
  name: null,
  content,
  token_count: content.length,
  external_id: null,
  tool_call_id: null,
  tool_calls: null,
  created_at: '2025-01-01T00:00:00.000Z',
  score: 0,
  ...extra,
});
const callTurn = (sequence: number, calls: [string, string, Record<string, unknown>][], content = '') =>
  turn(sequence, 'assistant', content, {
    tool_calls: calls.map(([id, name, args]) => ({ id, name, arguments: JSON.stringify(args) })),
  });
const resultTurn = (sequence: number, callId: string, name: string, content: string) =>
  turn(sequence, 'tool', content, { tool_call_id: callId, name });

describe('pairing results with calls', () => {
  it('pairs a result with the latest call of its id made before it, even when ids are reused', () => {
    const a = callTurn(1, [['call_x', 'lookup_user', { user: 'u-100' }]]);
    const r1 = resultTurn(2, 'call_x', 'lookup_user', '{"id":"u-100","plan":"p-77"}');
    const b = callTurn(3, [['call_x', 'add', { expr: '1 + 2' }]]);
    const r2 = resultTurn(4, 'call_x', 'add', '3');
    const index = callIndex([b, a]);
    expect(callOf(r1, index)).toMatchObject({ name: 'lookup_user', turnId: a.id });
    expect(callOf(r2, index)).toMatchObject({ name: 'add', turnId: b.id });
    const list = findings([r2, r1], index, tok);
    expect(list.map((f) => f.label)).toEqual(['add(expr: 1 + 2)', 'lookup_user(user: u-100)']);
    expect(list.some((f) => f.outdatedBy)).toBe(false);
  });

  it('marks an older result of the same tool on the same arguments (in any key order) as outdated', () => {
    const a = callTurn(1, [['c1', 'stat', { path: '/etc/hosts', follow: true }]]);
    const r1 = resultTurn(2, 'c1', 'stat', '{"inode":"i-1001","mtime":"2025-01-01"}');
    const b = callTurn(3, [['c2', 'stat', { follow: true, path: '/etc/hosts' }]]);
    const r2 = resultTurn(4, 'c2', 'stat', '{"inode":"i-1001","mtime":"2025-02-02"}');
    const list = findings([r2, r1], callIndex([b, a]), tok);
    expect(list[1]!.outdatedBy).toBe(r2.id);
    expect(digestValues(list)).toEqual(['i-1001', '2025-02-02']);
  });

  it('digests identifier values newest result first, each once', () => {
    const a = callTurn(1, [['c1', 'search', { q: 'kettle' }]]);
    const r1 = resultTurn(2, 'c1', 'search', '[{"sku":"KTL-204"},{"sku":"KTL-300"}]');
    const b = callTurn(3, [['c2', 'cart', {}]]);
    const r2 = resultTurn(4, 'c2', 'cart', '{"cart_id":"cart-9","items":["KTL-300"]}');
    expect(digestValues(findings([r2, r1], callIndex([b, a]), tok))).toEqual(['cart-9', 'KTL-300', 'KTL-204']);
  });

  it('shows a result row as its current call and whitelist say, however often it was shown before', () => {
    const fields = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`field_${i}`, `value number ${i} `.repeat(3)]),
    );
    const r = resultTurn(2, 'c1', 'stat', JSON.stringify({ owner: 'ops-team', ...fields }));
    const first = callTurn(1, [['c1', 'stat', { path: '/a' }]]);
    const again = callTurn(1, [['c1', 'stat', { path: '/b' }]]);
    const renamed = callTurn(1, [['c1', 'lstat', { path: '/b' }]]);
    const once = findings([r], callIndex([first]), tok)[0]!;
    expect(once.label).toBe('stat(path: /a)');
    expect(once.summarized).toBe(true);
    expect(findings([r], callIndex([first]), tok)[0]).toEqual(once);
    expect(findings([r], callIndex([again]), tok)[0]!.label).toBe('stat(path: /b)');
    expect(findings([r], callIndex([renamed]), tok)[0]!.label).toBe('lstat(path: /b)');
    expect(findings([r], new Map(), tok)[0]!.label).toBe('stat');
    // The fields an operator keeps for the tool change the summary of the same row, and back.
    const kept = findings([r], callIndex([first]), tok, { stat: ['field_39'] })[0]!;
    expect(kept.summary).toEqual(findings([{ ...r }], callIndex([first]), tok, { stat: ['field_39'] })[0]!.summary);
    expect(kept.content).toContain('field_39');
    expect(once.content).not.toContain('field_39');
    expect(findings([r], callIndex([first]), tok)[0]).toEqual(once);
  });

  it('keeps results of tools whose names and arguments would join to the same text apart', () => {
    // Arguments that are not JSON are compared as written: "a" + "{}\0y" and "a\0{}" + "y" must not meet.
    const a = turn(1, 'assistant', '', { tool_calls: [{ id: 'c1', name: 'a\u0000{}', arguments: 'y' }] });
    const r1 = resultTurn(2, 'c1', 'a\u0000{}', 'one');
    const b = turn(3, 'assistant', '', { tool_calls: [{ id: 'c2', name: 'a', arguments: '{}\u0000y' }] });
    const r2 = resultTurn(4, 'c2', 'a', 'two');
    const list = findings([r2, r1], callIndex([b, a]), tok);
    expect(list.map((f) => f.outdatedBy)).toEqual([undefined, undefined]);
  });

  it('reads the operator whitelist per tool and for every tool', () => {
    expect(keepFor({ read_file: ['owner'], '*': ['note'] }, 'read_file')).toEqual(['owner', 'note']);
    expect(keepFor({ read_file: ['owner'] }, 'stat')).toEqual([]);
    expect(keepFor(undefined, 'stat')).toEqual([]);
  });
});

describe('older results the ranking matched', () => {
  // Newest first: the newest result and its call, then an older result the query matched, ranked behind other turns.
  const newCall = callTurn(50, [['c-new', 'get_order', { order: 'o-2' }]]);
  const newResult = resultTurn(51, 'c-new', 'get_order', '{"order":"o-2","status":"shipped"}');
  const oldCall = callTurn(10, [['c-old', 'get_order', { order: 'o-1' }]]);
  const oldResult = resultTurn(11, 'c-old', 'get_order', '{"order":"o-1","status":"refunded"}');
  const structural = { recent: [], system: [], tool: [newResult], calls: [newCall], first: undefined };
  const ranked = (ahead: number) => [
    ...Array.from({ length: ahead }, (_, i) => ({ candidate: { turn: turn(20 + i, 'user', 'x'.repeat(400)) } })),
    { candidate: { turn: oldResult } },
  ];
  const gather = (ahead: number, budgetTokens: number) => {
    const read: number[][] = [];
    return gatherFindings({
      sessionId: 's',
      structural,
      ranked: ranked(ahead),
      budgetTokens,
      // Its call is older than the call turns read: one more read, as the database source does.
      source: { callTurns: async (results) => (read.push(results.map((r) => r.sequence)), [oldCall]) },
      tok,
      whitelist: undefined,
    }).then((found) => ({ found, read }));
  };

  it('shows a matched older result with its call when the budget reaches its rank', async () => {
    const { found, read } = await gather(2, 1000);
    expect(found.list.map((f) => f.turn.id)).toEqual([newResult.id, oldResult.id]);
    expect(found.list[1]!.label).toBe('get_order(order: o-1)');
    expect(found.digest).toContain('o-1');
    expect(read).toEqual([[oldResult.sequence]]);
  });

  it('leaves out, unread and unsummarised, a matched result ranked past what the budget reaches', async () => {
    // Four turns of 404 stored tokens each: past 1.5 × 1,000 before the older result's rank.
    const { found, read } = await gather(4, 1000);
    expect(found.list.map((f) => f.turn.id)).toEqual([newResult.id]);
    expect(found.digest).not.toContain('o-1');
    expect(read).toEqual([]);
    // A larger budget reaches it again.
    expect((await gather(4, 2000)).found.list.map((f) => f.turn.id)).toEqual([newResult.id, oldResult.id]);
  });

  it('counts a large older result towards the reach only as far as its summary goes', async () => {
    // 3,000 stored tokens: as a line it would use up two budgets of 1,000 tokens; summarised it takes at most 240.
    const bigCall = callTurn(6, [['c-big', 'read_file', { path: 'a.log' }]]);
    const big = resultTurn(7, 'c-big', 'read_file', JSON.stringify({ lines: 'log line '.repeat(40) }));
    const found = await gatherFindings({
      sessionId: 's',
      structural,
      ranked: [{ candidate: { turn: { ...big, token_count: 3_000 } } }, { candidate: { turn: oldResult } }],
      budgetTokens: 1000,
      source: { callTurns: async () => [bigCall, oldCall] },
      tok,
      whitelist: undefined,
    });
    expect(found.list.map((f) => f.turn.id)).toEqual([newResult.id, big.id, oldResult.id]);
  });
});

describe('tool-using stretches', () => {
  it('is active when the newest tool result is among the recent turns', () => {
    const recent = [turn(10, 'user', 'a'), turn(8, 'assistant', 'b')];
    expect(toolActive(recent, [turn(9, 'tool', 'r')])).toBe(true);
    expect(toolActive(recent, [turn(3, 'tool', 'r')])).toBe(false);
    expect(toolActive(recent, [])).toBe(false);
  });

  it('raises the findings share to hold the digest and scales the others down', () => {
    const base = { a: 0.5, tool_findings: 0.5 };
    expect(toolShares(base, 10, 1000)).toEqual(base);
    const raised = toolShares(base, 684, 1000);
    expect(raised.tool_findings).toBeCloseTo(0.7, 6);
    expect(raised.a).toBeCloseTo(0.3, 6);
    expect(toolShares(base, 5000, 1000).tool_findings).toBe(0.85);
  });
});

describe('call/result integrity after planning', () => {
  const empty = () => Object.fromEntries(sectionNames.map((s) => [s, [] as Item[]])) as Record<SectionName, Item[]>;
  const headers = Object.fromEntries(sectionNames.map((s) => [s, 0])) as Record<SectionName, number>;
  const it_ = (
    section: SectionName,
    id: string,
    tokens: number,
    payload: unknown,
    extra: Partial<Item> = {},
  ): Item => ({
    id,
    section,
    line: id,
    tokens,
    score: 1,
    order: 0,
    payload,
    ...extra,
  });

  it('treats a turn that only made calls as shown by the findings when all its results are there', () => {
    const a = callTurn(1, [
      ['c1', 'ls', {}],
      ['c2', 'cat', { f: 'x' }],
    ]);
    const list = findings([resultTurn(3, 'c2', 'cat', 'x'), resultTurn(2, 'c1', 'ls', 'y')], callIndex([a]), tok);
    expect(callsShownWithResults(a, list)).toBe(true);
    expect(callsShownWithResults(a, list.slice(0, 1))).toBe(false);
    expect(callsShownWithResults(callTurn(4, [['c1', 'ls', {}]], 'Listing now.'), list)).toBe(false);
  });

  it('takes a call off a kept turn when its result exists but was left out, keeping pending calls', () => {
    const a = callTurn(
      1,
      [
        ['c1', 'ls', {}],
        ['c2', 'cat', {}],
        ['c3', 'pending', {}],
      ],
      'Checking.',
    );
    const list = findings([resultTurn(3, 'c2', 'cat', 'x'), resultTurn(2, 'c1', 'ls', 'y')], callIndex([a]), tok);
    const candidates = empty();
    candidates.recent_turns.push(it_('recent_turns', a.id, 20, { turn: a }));
    candidates.tool_findings.push(it_('tool_findings', list[1]!.turn.id, 5, { turn: list[1]!.turn }));
    const p = plan({ budget: 1000, reserve: 0, frameTokens: 0, headerTokens: headers, candidates });
    let keptCalls: string[] = [];
    dropUnansweredCalls(p, list, (k, keep) => {
      keptCalls = keep;
      return { ...k, line: `${k.line} calls ${keep.join(',')}`, tokens: 12 };
    });
    expect(keptCalls).toEqual(['c1', 'c3']);
    expect(p.kept.find((k) => k.id === a.id)!.tokens).toBe(12);
    expect(p.report.used_tokens).toBe(17);
  });

  it('makes summarised results whole newest first within the room left, then drops a redundant digest', () => {
    const candidates = empty();
    candidates.tool_findings.push(
      it_('tool_findings', 'digest', 10, {}, { line: 'Values: v-1, v-2' }),
      it_('tool_findings', 'old', 5, {}, { truncated: true, order: 1 }),
      it_('tool_findings', 'new', 5, {}, { truncated: true, order: 2 }),
    );
    const p = plan({ budget: 20, reserve: 0, frameTokens: 0, headerTokens: headers, candidates });
    expect(p.report.used_tokens).toBe(20);
    const whole = (k: Item): Item => ({
      ...k,
      line: `${k.id} whole v-${k.id === 'new' ? 1 : 2}`,
      tokens: 14,
      truncated: false,
    });
    settleFindings(p, 20 - p.report.used_tokens, { id: 'digest', values: ['v-1', 'v-2'] }, whole);
    // No room at first; nothing changes while the digest is needed.
    expect(p.kept.map((k) => `${k.id}:${k.tokens}`)).toEqual(['digest:10', 'old:5', 'new:5']);

    const q = plan({ budget: 40, reserve: 0, frameTokens: 0, headerTokens: headers, candidates });
    settleFindings(q, 40 - q.report.used_tokens, { id: 'digest', values: ['v-1', 'v-2'] }, whole);
    // 20 tokens of room: the newer becomes whole (9 more), then the older (9 more); the digest is then redundant.
    expect(q.kept.map((k) => `${k.id}:${k.tokens}`)).toEqual(['old:14', 'new:14']);
    expect(q.report.used_tokens).toBe(28);
    expect(q.report.dropped[0]).toMatchObject({ id: 'digest', reason: 'duplicate' });
  });
});

describe('the digest cut to a budget', () => {
  // Values ending or starting in punctuation, digits, spaces, quotes, other scripts, commas of their own.
  const parts = [
    'KTL-204',
    '2025-02-02',
    'a.',
    '…',
    ' x',
    'y ',
    '',
    '12345',
    "it's",
    '"q"',
    '東京',
    'a, b',
    ',',
    '-',
    'é',
  ];
  const values = (r: Rng) =>
    Array.from({ length: 1 + r.int(12) }, () => Array.from({ length: 1 + r.int(3) }, () => r.pick(parts)).join(''));

  it('counts every prefix as the joined text would be counted', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const v = values(rng(seed));
      const tokensOf = digestPrefixTokens(v, tok);
      for (let m = 0; m <= v.length; m++)
        expect(tokensOf(m), `seed ${seed}, ${m} of ${JSON.stringify(v)}`).toBe(tok.count(digestContent(v.slice(0, m))));
    }
  });

  it('keeps the longest newest-first prefix that fits', () => {
    const v = ['cart-9', 'KTL-300', 'KTL-204', '2025-02-02', 'HAT-001'];
    for (let max = 0; max <= 30; max++) {
      const fits = [...Array(v.length + 1).keys()].filter((m) => tok.count(digestContent(v.slice(0, m))) <= max);
      const m = Math.max(...fits);
      expect(shrinkDigest(v, max, tok)).toBe(m > 0 ? digestContent(v.slice(0, m)) : undefined);
    }
  });
});
