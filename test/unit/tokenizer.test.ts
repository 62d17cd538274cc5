import { describe, expect, it } from 'vitest';
import { cutLongPieces, getTokenizer } from '../../src/tokenizer.js';

describe('tokenizer (o200k_base)', () => {
  it('counts tokens like the o200k encoding', async () => {
    const tok = await getTokenizer();
    expect(tok.count('')).toBe(0);
    expect(tok.count('hello world')).toBe(2);
    expect(tok.count('Lisbon in May is lovely.')).toBeGreaterThan(4);
  });

  it('loads the ranks once and returns the same instance', async () => {
    expect(await getTokenizer()).toBe(await getTokenizer());
  });

  it('truncates and tails on token boundaries without breaking characters', async () => {
    const tok = await getTokenizer();
    const text = 'naïve café — 東京 and 北京 '.repeat(20);
    for (const n of [1, 3, 7, 20]) {
      const head = tok.truncate(text, n);
      const tail = tok.tail(text, n);
      expect(tok.count(head)).toBeLessThanOrEqual(n);
      expect(tok.count(tail)).toBeLessThanOrEqual(n);
      expect(text.startsWith(head)).toBe(true);
      expect(text.endsWith(tail)).toBe(true);
      expect(head).not.toContain('\uFFFD');
      expect(tail).not.toContain('\uFFFD');
    }
    expect(tok.truncate('short', 10)).toBe('short');
    expect(tok.truncate('short', 0)).toBe('');
  });
});

describe('cuts inside a character', () => {
  it('leave nothing behind for the next cut: every cut is the same whatever was cut before it', async () => {
    const tok = await getTokenizer();
    const text = '🦄🦄🦄 unicorns 𝔘𝔫𝔦 and 東京 🦄';
    const tokens = tok.encode(text);
    const heads = tokens.map((_, n) => tok.head(tokens, n));
    const tails = tokens.map((_, n) => tok.tailOf(tokens, n));
    // The same cuts again, in the opposite order and interleaved: each gives what it gave alone.
    for (let n = tokens.length - 1; n >= 0; n--) {
      expect(tok.tailOf(tokens, n)).toBe(tails[n]);
      expect(tok.head(tokens, n)).toBe(heads[n]);
    }
    for (const [n, h] of heads.entries()) {
      expect(text.startsWith(h)).toBe(true);
      expect(text.endsWith(tails[n]!)).toBe(true);
      expect(h).not.toContain('\uFFFD');
    }
    expect(tok.head(tokens, 3)).toBe('🦄');
    expect(tok.head(tokens, tokens.length)).toBe(text);
  });
});

describe('counting against a second o200k implementation', () => {
  it('counts exactly like js-tiktoken on mixed text, repeated lines included', async () => {
    const { Tiktoken } = await import('js-tiktoken/lite');
    const { default: ranks } = await import('js-tiktoken/ranks/o200k_base');
    const enc = new Tiktoken(ranks);
    const tok = await getTokenizer();
    const samples = [
      'Caroline: I went to a LGBTQ support group yesterday and it was so powerful.\n',
      '  leading  spaces \n\n\t tabs\r\n',
      '😀🎉 emoji 𝕏 mixed, naïve café — 東京 and 北京',
      '1234567890 3.14159 -42 2023-05-08T13:56:00Z',
      "it's they're WE'LL don't",
      '[photo: a photo of a dog walking past a wall]\n[8 May 2023]\n',
      'x'.repeat(3000),
      '{"id":"call_1","arguments":{"to":"LIS","date":"2024-05-03"}}',
    ];
    for (const s of samples) {
      expect(tok.count(s)).toBe(enc.encode(s).length);
      expect(tok.count(s)).toBe(enc.encode(s).length); // memoised pieces give the same count
    }
    // Long multi-line texts are counted line by line through the memo: still exactly the encoder's count, whatever
    // separates the lines (blank lines, trailing or leading spaces, punctuation or a slash after a newline).
    const lines = [
      ...samples.filter((s) => s.length < 200),
      'Melanie: Thanks, Caroline!',
      '  indented',
      '/path/after/newline',
      '- a list item',
      '3 apples',
      'É accented',
      '<data source="turns">',
      '</data>',
      '## Relevant history',
      '[8 May 2023]',
      '(session s-1, 8 May 2023) - be brief',
      '\'quoted\' and "double"',
      '→ calls search({"q":"x"})',
    ];
    const separators = ['\n', '\n\n', ' \n', '\n ', '\n\t', '.\n', '\n/', '\r\n', ' \n \n', '\n\n\n', '>\n', '.\n/'];
    for (let k = 0; k < 120; k++) {
      let text = '';
      for (let i = 0; text.length <= 4_000; i++)
        text += lines[(k * 7 + i * 3) % lines.length]! + separators[(k + i) % separators.length]!;
      expect(tok.count(text)).toBe(enc.encode(text).length);
      expect(tok.count(text)).toBe(enc.encode(text).length);
    }
    // A long single line is remembered whole and still counted right, also after other long texts.
    const json = JSON.stringify({
      results: Array.from({ length: 120 }, (_, i) => ({
        flight: `HAT${i}`,
        seats: i % 7,
        status: i % 3 ? 'available' : 'full',
      })),
    });
    expect(json.length).toBeGreaterThan(2_000);
    expect(json).not.toContain('\n');
    for (let k = 0; k < 3; k++) expect(tok.count(json)).toBe(enc.encode(json).length);
    // Long single lines of comma-separated values: counted at once while their parts are new, in parts once most are
    // remembered lines (as the digest's parts are). Still the encoder's count, whatever precedes or follows each comma.
    const values = [
      'KTL-204',
      'a.',
      '12345',
      ' spaced ',
      '',
      ',',
      'é…',
      '"q"',
      "it's",
      '東京',
      '/x',
      '-',
      'a\tb',
      '😀',
    ];
    for (let k = 0; k < 60; k++) {
      let line = 'Values from tool results, newest first: ';
      for (let i = 0; line.length <= 2_500; i++)
        line += `${values[(k * 5 + i * 3) % values.length]!}${i % 7 ? ', ' : ' ,, '}`;
      expect(tok.count(line)).toBe(enc.encode(line).length);
      const pieces = line.split(', ');
      pieces.forEach((p, i) => {
        if (i % 9 !== 4) tok.count(`${i === 0 ? '' : ' '}${p}${i < pieces.length - 1 ? ',' : ''}`);
      });
      for (const t of [`${line}x`, `y${line}`, `${line}, tail, end.`])
        expect(tok.count(t), JSON.stringify(t)).toBe(enc.encode(t).length);
    }
    // Special-token strings in stored text are plain text: counted as the encoder counts them with no specials allowed.
    for (const s of ['<|endoftext|>', 'before <|im_start|>user after', '<|endoftext']) {
      expect(tok.count(s)).toBe(enc.encode(s, [], []).length);
      expect(tok.encode(s)).toEqual(enc.encode(s, [], []));
    }
  });
});

describe('pieces longer than any word', () => {
  it('are cut only inside long runs of letters or punctuation, never in a surrogate pair, and join back whole', () => {
    expect(cutLongPieces('a normal sentence '.repeat(100))).toBeUndefined();
    // Compact JSON and long numbers are many short pieces already: counted exactly, uncut.
    expect(cutLongPieces(JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: i, ok: true }))))).toBeUndefined();
    expect(cutLongPieces('9'.repeat(5000))).toBeUndefined();
    for (const text of ['x'.repeat(200_000), `start x${'𝒜'.repeat(3000)} end`, `${'!'.repeat(1000)}b`]) {
      const parts = cutLongPieces(text)!;
      expect(parts.length).toBeGreaterThan(1);
      expect(parts.join('')).toBe(text);
      for (const p of parts) expect(p).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
  });

  it('are counted as the sum of their parts, and truncation still fits', async () => {
    const tok = await getTokenizer();
    const text = `id ${'q'.repeat(200_000)} done`;
    const parts = cutLongPieces(text)!;
    expect(tok.count(text)).toBe(parts.reduce((n, p) => n + tok.count(p), 0));
    expect(tok.encode(text)).toHaveLength(tok.count(text));
    const head = tok.truncate(text, 50);
    expect(text.startsWith(head)).toBe(true);
    expect(tok.count(head)).toBeLessThanOrEqual(50);
  });
});
