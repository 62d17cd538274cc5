import { beforeAll, describe, expect, it } from 'vitest';
import { compactJson, stringKind, summarizeToolResult } from '../../src/pipeline/compressor/tool-summary.js';
import { getTokenizer, type Tokenizer } from '../../src/tokenizer.js';

let tok: Tokenizer;
beforeAll(async () => {
  tok = await getTokenizer();
});

describe('stringKind', () => {
  it('tells identifiers, dates, paths, codes and statuses from prose by their shape', () => {
    expect(stringKind('ord-5530')).toBe('id');
    expect(stringKind('cus_77120')).toBe('id');
    expect(stringKind('2024-05-20')).toBe('date');
    expect(stringKind('2024-05-11T08:28:51Z')).toBe('date');
    expect(stringKind('14:05')).toBe('date');
    expect(stringKind('/var/log/app/server.log')).toBe('path');
    expect(stringKind('https://example.org/a?b=1')).toBe('path');
    expect(stringKind('src/index.ts')).toBe('path');
    expect(stringKind('LIS')).toBe('code');
    expect(stringKind('kim@example.org')).toBe('id');
    expect(stringKind('shipped')).toBe('status');
    expect(stringKind('Error: disk full')).toBe('error');
    expect(stringKind('A lovely kettle that boils water quickly and quietly.')).toBeUndefined();
    expect(stringKind('')).toBeUndefined();
  });
});

describe('summarizeToolResult', () => {
  const order = {
    order_id: 'ord-5530',
    status: 'delivered',
    placed_at: '2024-03-02T10:15:00Z',
    total: 129.5,
    gift: false,
    note: 'Customer asked us to leave the parcel with the neighbour at number seven if nobody answers the door.',
    customer: {
      id: 'cus_77120',
      email: 'kim@example.org',
      address: { street: 'Long prose street name that goes on and on', zip: '1100-148' },
    },
    items: [
      { sku: 'KTL-204', title: 'Steel kettle with a very long marketing description', qty: 1, price: 39 },
      { sku: 'MUG-330', title: 'Blue mug', qty: 2, price: 12 },
    ],
    refunds: [],
    last_error: 'payment gateway timed out after 30 s, retried',
  };
  const text = JSON.stringify(order);

  it('keeps identifiers, numbers, dates, statuses and errors exactly and drops prose', () => {
    const s = summarizeToolResult(text, tok);
    expect(s.json).toBe(true);
    for (const v of [
      'ord-5530',
      'delivered',
      '2024-03-02T10:15:00Z',
      '129.5',
      'cus_77120',
      'kim@example.org',
      '1100-148',
      'KTL-204',
      'MUG-330',
      '39',
      '12',
      'payment gateway timed out after 30 s, retried',
    ]) {
      expect(s.text).toContain(v);
    }
    expect(s.text).not.toContain('neighbour');
    expect(s.text).not.toContain('marketing');
    expect(tok.count(s.text)).toBeLessThan(tok.count(text));
  });

  it('keeps the nesting of objects and arrays so each value stays next to its key', () => {
    const s = summarizeToolResult(text, tok);
    expect(s.text).toContain('customer: {id: cus_77120');
    expect(s.text).toContain('address: {zip: 1100-148}');
    expect(s.text).toContain('items: [{sku: KTL-204, qty: 1, price: 39}; {sku: MUG-330, qty: 2, price: 12}]');
    const list = summarizeToolResult(
      JSON.stringify([
        { id: 'a-1001', ok: true },
        { id: 'a-1002', ok: false },
      ]),
      tok,
    );
    expect(list.text).toBe('[{id: a-1001, ok: true}; {id: a-1002, ok: false}]');
  });

  it('lists identifier-like values once, in order, for the digest; a key made of an id counts', () => {
    const s = summarizeToolResult(
      JSON.stringify({
        methods: { card_4421486: { id: 'card_4421486', last4: '7447' } },
        address1: 'x',
        again: 'card_4421486',
      }),
      tok,
    );
    expect(s.identifiers).toEqual(['card_4421486', '7447']);
  });

  it('keeps the whole of a short text output and the informative lines of a long one', () => {
    expect(summarizeToolResult('Transfer successful', tok).text).toBe('Transfer successful');
    const log = [
      'Starting build of the project, please wait while we gather everything together for you.',
      'Compiling 214 modules',
      'src/server/index.ts',
      'This line is just chatter about how the weather is nice today and nothing else at all.',
      'ERROR: cannot resolve module ./db/store (imported from src/server/index.ts)',
      'Some more chatter that is only prose and carries nothing a later step would need really.',
      'build id: b7f3-22a9',
    ]
      .join('\n')
      .repeat(3);
    const s = summarizeToolResult(log, tok);
    expect(s.json).toBe(false);
    expect(s.text).toContain('ERROR: cannot resolve module ./db/store (imported from src/server/index.ts)');
    expect(s.text).toContain('build id: b7f3-22a9');
    expect(s.text).toContain('Compiling 214 modules');
    expect(s.text).not.toContain('weather');
    expect(s.identifiers).toContain('b7f3-22a9');
  });

  it('fits a huge output into its token limit, errors and identifiers before statuses and numbers', () => {
    const rows = Array.from({ length: 5_000 }, (_, i) => ({
      id: `row-${100000 + i}`,
      state: 'ok',
      score: i,
      comment: 'lorem ipsum dolor sit amet '.repeat(3),
    }));
    const huge = JSON.stringify({ error: 'partial result: shard 7 unavailable', rows });
    const s = summarizeToolResult(huge, tok, { maxTokens: 200 });
    expect(tok.count(s.text)).toBeLessThanOrEqual(200);
    expect(s.text).toContain('error: partial result: shard 7 unavailable');
    expect(s.text).toContain('row-100000');
    expect(s.text).not.toContain('lorem');
    const small = summarizeToolResult('x '.repeat(20_000), tok, { maxTokens: 50 });
    expect(tok.count(small.text)).toBeLessThanOrEqual(50);
  });

  it('keeps the fields an operator lists whatever their shape, by key or by dotted path', () => {
    const keepNote = summarizeToolResult(text, tok, { keep: ['note'] });
    expect(keepNote.text).toContain(order.note);
    const keepStreet = summarizeToolResult(text, tok, { keep: ['customer.address.street'] });
    expect(keepStreet.text).toContain('Long prose street name that goes on and on');
    expect(keepStreet.text).not.toContain('neighbour');
    const lines = summarizeToolResult(
      `${'chatter without facts here. '.repeat(30)}\nmood: calm and cheerful today\n${'more chatter. '.repeat(30)}`,
      tok,
      { keep: ['mood'] },
    );
    expect(lines.text).toContain('mood: calm and cheerful today');
  });
});

describe('compactJson', () => {
  it('renders arguments as key: value text and cuts only long strings', () => {
    expect(compactJson('{"reservation_id":"ZFA04Y","ids":["a1","b2"],"opts":{"x":1}}')).toBe(
      'reservation_id: ZFA04Y, ids: [a1; b2], opts: {x: 1}',
    );
    expect(compactJson(JSON.stringify({ thought: 'a'.repeat(100) }), 10)).toBe(`thought: ${'a'.repeat(10)}…`);
    expect(compactJson('not json')).toBe('not json');
  });
});
