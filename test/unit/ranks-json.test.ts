// The server bundle carries gpt-tokenizer's o200k ranks as JSON (scripts/build/ranks-json.mjs): the tokenizer built on
// them encodes every text to the same tokens as the library's own o200k encoding.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import library from 'gpt-tokenizer/encoding/o200k_base';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a build script in plain JavaScript, without declarations
import { ranksAsJsonModule } from '../../scripts/build/ranks-json.mjs';

describe('o200k ranks as JSON', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ctx-ranks-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('encodes every text to the same tokens as the library', async () => {
    const file = createRequire(import.meta.url).resolve('gpt-tokenizer/bpeRanks/o200k_base');
    const module = path.join(dir, 'ranks.mjs');
    writeFileSync(module, await ranksAsJsonModule(file));
    const { default: ranks } = (await import(pathToFileURL(module).href)) as { default: (string | number[])[] };
    expect(ranks).toHaveLength(199_998);
    const fromJson = GptEncoding.getEncodingApi('o200k_base', () => ranks);
    const texts = [
      'hello world',
      'I am planning a trip to Lisbon in May and want an apartment near Alfama.',
      'naïve café — 東京 and 北京, emoji 🎉👩‍👩‍👧 and Ω≈ç√∫',
      '\u0000\u0001 bytes \uFFFD and lone \uD800 surrogates',
      '    indented code();\n\tif (x) { return y; }\r\n',
      'Привет, мир! مرحبا بالعالم नमस्ते दुनिया',
      `${'ab'.repeat(300)} ${'—'.repeat(50)}`,
    ];
    for (const text of texts) expect(fromJson.encode(text)).toEqual(library.encode(text));
    // Every token's text, as one long text: each encodes to the same tokens (cut where the encoder needs no context).
    const vocabulary = ranks.filter((r): r is string => typeof r === 'string').join('\n');
    for (let at = 0; at < vocabulary.length; at += 200_000) {
      const part = vocabulary.slice(at, at + 200_000);
      expect(fromJson.encode(part)).toEqual(library.encode(part));
    }
  });
});
