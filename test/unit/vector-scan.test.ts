// The SIMD scan that narrows the vector-seed search: exact integer dot products, and the same seeds and cosines as
// scanning every held vector exactly, ties and all.
import { describe, expect, it } from 'vitest';
import { defaults } from '../../src/config/tuning.js';
import { hashedNgramEmbedder, type Embedder } from '../../src/embedder.js';
import { int8Scan, maxScanQuery } from '../../src/kernels/int8-dots.js';
import { vectorSeeds } from '../../src/pipeline/retriever/vector-seeds.js';

describe('int8 scan', () => {
  it('gives the exact integer dot product of each row with an int16 query, at any width', () => {
    const scan = int8Scan();
    expect(scan).toBeDefined();
    for (const dims of [1, 7, 8, 9, 100, 101, 1536]) {
      const n = 37;
      const rows = Int8Array.from({ length: n * dims }, (_, i) => (i % 3 === 0 ? -128 : ((i * 73) % 255) - 127));
      const top = maxScanQuery(dims);
      // The largest components the scan takes, of both signs: no sum may overflow.
      const query = Int16Array.from({ length: dims }, (_, d) => (d % 2 ? top : -top));
      const got = [...scan!(rows, dims, query)];
      const expected = Array.from({ length: n }, (_, i) => query.reduce((s, q, d) => s + q * rows[i * dims + d]!, 0));
      expect(got).toEqual(expected);
    }
    expect(() => scan!(new Int8Array(16), 8, new Int16Array(4))).toThrow(/query/);
  });
});

describe('vector seeds narrowed by the SIMD scan', () => {
  // Turns with repeats (equal vectors, so ties between turns) and words shared in varied mixes.
  const words = ['lake', 'paint', 'dusk', 'train', 'grey', 'pottery', 'class', 'swim', 'budget', 'euro', 'tile'];
  const turns = Array.from({ length: 2_400 }, (_, i) => ({
    sequence: i + 1,
    name: i % 2 ? 'Melanie' : 'Caroline',
    content:
      i % 50 === 7
        ? 'we painted the lake at dusk'
        : `${words[i % 11]} ${words[(i * 7) % 11]} ${words[(i * 13) % 11]} on day ${i % 97}`,
  }));
  const source = {
    conversation: async (after: number) => turns.filter((t) => t.sequence > after),
  };
  const embedder: Embedder = hashedNgramEmbedder();

  it('finds the same seeds in the same order, with the same cosines, as the exact scan of every vector', async () => {
    for (const [k, query] of ['painted lake at dusk', 'grey train', 'euro budget tile', 'zzz'].entries())
      for (const count of [1, 5, 40, 2_400, 3_000]) {
        const input = {
          store: undefined as never,
          embedder,
          source,
          session: { tenantId: 't', id: `s${k}`, created_at: '2024-01-01T00:00:00Z', last_sequence: turns.length },
          query,
          count,
        };
        const exact = await vectorSeeds({ ...input, simd: false });
        const narrowed = await vectorSeeds(input);
        expect(narrowed.seeds, `${query} × ${count}`).toEqual(exact.seeds);
        expect(narrowed.seeds.length).toBe(Math.min(count, turns.length));
        for (const t of turns)
          expect(narrowed.vectors!.similarity(t.sequence)).toBe(exact.vectors!.similarity(t.sequence));
      }
  });
});

describe('a long-lived session’s held vectors', () => {
  const turns = Array.from({ length: 400 }, (_, i) => ({
    sequence: i + 1,
    name: null,
    content: `note ${i % 37} about ${['tiles', 'paint', 'ferries', 'budgets'][i % 4]} and day ${i}`,
  }));
  const source = { conversation: async (after: number) => turns.filter((t) => t.sequence > after) };
  const embedder = hashedNgramEmbedder();
  const ask = (id: string, last: number) =>
    vectorSeeds({
      store: undefined as never,
      embedder,
      source,
      session: { tenantId: 't', id, created_at: '2024-01-01T00:00:00Z', last_sequence: last },
      query: 'ferries on day 3',
      count: 12,
    });

  it('keep about one window as the session grows, and find what vectors read afresh find', async () => {
    // The tuning is read-only to the product; a small window here keeps the test quick.
    const tuning = defaults.vectors as { window: number };
    const { window } = tuning;
    tuning.window = 100;
    try {
      for (let last = 10; last <= turns.length; last += 10) {
        const grown = await ask('grown', last);
        const afresh = await ask(`afresh-${last}`, last);
        expect(grown.seeds, `at ${last}`).toEqual(afresh.seeds);
        expect(grown.seeds.every((s) => s > last - 100 && s <= last)).toBe(true);
        // Held: the window and at most a quarter window more; a turn before that is not held.
        for (const s of [last, Math.max(1, last - 99)]) expect(grown.vectors!.similarity(s)).toBeDefined();
        if (last > 125) expect(grown.vectors!.similarity(last - 125)).toBeUndefined();
      }
    } finally {
      tuning.window = window;
    }
  });
});
