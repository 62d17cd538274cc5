// The offline word-vector embedder: the table format round-trips, SIF weighting discounts frequent words, and the
// bundled table puts related sentences closer than unrelated ones.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  parseWordVectors,
  serializeWordVectors,
  wordVectorEmbedder,
} from '../../src/adapters/embedder/word-vectors.js';
import { INT8_DOTS_WASM, int8Dots } from '../../src/kernels/int8-dots.js';
import { dot } from '../../src/embedder.js';

describe('word-vector table', () => {
  it('round-trips words and int8-quantised vectors', () => {
    const words = ['the', 'cat', 'dog', 'café'];
    const vectors = [
      [0.5, -0.5, 0],
      [1, 0.25, -0.75],
      [0.9, 0.3, -0.7],
      [0, 0, 2],
    ];
    const table = parseWordVectors(serializeWordVectors(words, vectors));
    expect(table.dims).toBe(3);
    expect([...table.index.keys()]).toEqual(words);
    const row = table.index.get('cat')!;
    const back = [...table.values.subarray(row * 3, row * 3 + 3)].map((x) => x * table.scale);
    back.forEach((x, d) => expect(x).toBeCloseTo(vectors[1]![d]!, 1));
  });

  it('gives each pair of words the cosine of their int8 rows, whatever the width', () => {
    for (const dims of [1, 3, 4, 7, 100]) {
      const words = Array.from({ length: 6 }, (_, i) => `w${i}`);
      const vectors = words.map((_, i) => Array.from({ length: dims }, (_, d) => Math.sin(i * 7 + d * 3 + 1)));
      const table = parseWordVectors(serializeWordVectors(words, vectors));
      const { words: level } = wordVectorEmbedder(table);
      const row = (r: number) => [...table.values.subarray(r * dims, r * dims + dims)];
      // Inverse norms are kept as float32.
      const inverse = (v: number[]) => Math.fround(1 / Math.sqrt(v.reduce((s, x) => s + x * x, 0)));
      for (let a = 0; a < words.length; a++)
        for (let b = 0; b < words.length; b++) {
          const s = row(a).reduce((t, x, d) => t + x * row(b)[d]!, 0);
          expect(level.cosine(a, b)).toBe(s * inverse(row(a)) * inverse(row(b)));
        }
    }
  });

  it.each([
    ['in WebAssembly SIMD', true],
    ['in JavaScript', false],
  ])('scans rows for several query rows at once with the cosines one at a time gives, %s', (_, simd) => {
    for (const dims of [1, 3, 15, 16, 17, 32, 100, 101]) {
      const count = 40;
      const words = Array.from({ length: count }, (_, i) => `w${i}`);
      // Wide-ranging components, the extremes included, and near-copies so that some pairs pass the threshold.
      const vectors = words.map((_, i) =>
        Array.from({ length: dims }, (_, d) => (i < 2 ? (i ? -1 : 1) : Math.sin((i % 7) * 3 + d * 5 + 1) + i / 400)),
      );
      const table = parseWordVectors(serializeWordVectors(words, vectors));
      table.values.fill(-128, 0, dims); // a component at the int8 minimum
      const { words: level } = wordVectorEmbedder(table, undefined, { simd });
      const rows = [...Array(count).keys()].reverse();
      for (const qRows of [[3], [3, 0], [0, 1, 9], [5, 6, 7, 8, 2]])
        for (const threshold of [-2, 0.55]) {
          const got: [number, number, number][] = [];
          level.near!(qRows, rows, threshold, (k, i, sim) => got.push([k, i, sim]));
          const expected: [number, number, number][] = [];
          qRows.forEach((q, k) =>
            rows.forEach((r, i) => {
              const sim = level.cosine(q, r);
              if (sim >= threshold) expected.push([k, i, sim]);
            }),
          );
          // By query row; a row without a norm gives a zero whose sign depends on the order of the sums.
          const byQuery = (list: [number, number, number][]) =>
            [...list].sort((a, b) => a[0] - b[0]).map(([k, i, sim]) => [k, i, sim === 0 ? 0 : sim]);
          expect(byQuery(got)).toEqual(byQuery(expected));
          if (threshold < 0) expect(got.length).toBe(qRows.length * count);
        }
    }
  });

  it('compiles its SIMD kernel from the module source it ships, and runs it in Node', async () => {
    const wabt = await (await import('wabt')).default();
    const source = readFileSync(new URL('../../src/kernels/int8-dots.wat', import.meta.url), 'utf8');
    const { buffer } = wabt.parseWat('int8-dots.wat', source, { simd: true }).toBinary({});
    expect(Buffer.from(buffer).toString('base64')).toBe(INT8_DOTS_WASM);
    const values = Int8Array.from({ length: 3 * 20 }, (_, i) => ((i * 37) % 255) - 127);
    const kernel = int8Dots(values, 3, 20);
    expect(kernel).toBeDefined();
    const dot = (a: number, b: number) =>
      [...values.subarray(a * 20, a * 20 + 20)].reduce((t, x, d) => t + x * values[b * 20 + d]!, 0);
    expect([...kernel!.dots(1, [2, 0, 1])]).toEqual([dot(1, 2), dot(1, 0), dot(1, 1)]);
    expect(() => kernel!.dots(1, [0, 1, 2, 0])).toThrow(/exceed/);
  });

  it('refuses a file that is not a table or is cut short', () => {
    expect(() => parseWordVectors(new TextEncoder().encode('not a table at all, no header here'))).toThrow(/WVEC/);
    const whole = serializeWordVectors(
      ['a', 'b'],
      [
        [1, 2],
        [3, 4],
      ],
    );
    expect(() => parseWordVectors(whole.subarray(0, whole.length - 1))).toThrow(/truncated/);
  });

  it('weighs rare words above frequent ones and ignores unknown words', async () => {
    // 'the' is the most frequent word, 'zebra' the rarest, between them filler words on other axes.
    const dims = 12;
    const axis = (d: number) => Array.from({ length: dims }, (_, i) => (i === d ? 1 : 0));
    const filler = Array.from({ length: 998 }, (_, i) => `w${i}`);
    const fillerVectors = filler.map((_, i) =>
      Array.from({ length: dims }, (_, d) => (d >= 2 ? Math.sin(i * 7 + d * 13) : 0)),
    );
    const e = wordVectorEmbedder(
      parseWordVectors(serializeWordVectors(['the', ...filler, 'zebra'], [axis(0), ...fillerVectors, axis(1)])),
    );
    const [mixed, frequent, rare, unknown] = await e.embed(['the the zebra', 'the', 'zebra', 'qwxz']);
    expect(dot(mixed!, rare!)).toBeGreaterThan(0.95);
    expect(dot(mixed!, frequent!)).toBeLessThan(0.3);
    expect(dot(unknown!, unknown!)).toBe(0);
  });
});

describe('bundled word vectors', () => {
  const e = wordVectorEmbedder(
    parseWordVectors(readFileSync(new URL('../../assets/word-vectors.bin', import.meta.url))),
  );

  it('is semantic, deterministic and unit length', async () => {
    const [a, b] = await e.embed(['We went hiking in the mountains', 'We went hiking in the mountains']);
    expect(e.semantic).toBe(true);
    expect([...a!]).toEqual([...b!]);
    expect(dot(a!, a!)).toBeCloseTo(1, 4);
  });

  it('ranks related sentences without shared words above unrelated ones', async () => {
    const [q, hobby, camping, report, car] = await e.embed([
      'What outdoor activities does she enjoy?',
      'I love going camping and hiking with my kids in the forest',
      'We spent the weekend kayaking on the lake and climbing',
      'The quarterly invoice must be paid before the audit',
      'The software update failed to install on the server',
    ]);
    const related = Math.min(dot(q!, hobby!), dot(q!, camping!));
    const unrelated = Math.max(dot(q!, report!), dot(q!, car!));
    expect(related).toBeGreaterThan(unrelated + 0.1);
  });
});
