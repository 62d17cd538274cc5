// A session copy's estimated bytes (its memory bound's measure) are not below what its turns take on the heap.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/db/store.js';
import { forgetSnapshot, snapshotStats, snapshotTurnSource } from '../../src/pipeline/retriever/snapshot.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const WORDS = 'lisbon apartment alfama budget flight hotel museum tram river castle dinner wine coffee pastry'.split(
  ' ',
);

/** Rows as the copy reads them: a turn of `words` words, its text-search vector, no speaker. */
function rows(n: number, words: number) {
  return Array.from({ length: n }, (_, i) => {
    const text = Array.from({ length: words }, (_, k) => WORDS[(i * 7 + k * 3) % WORDS.length]!);
    const positions = new Map<string, number[]>();
    text.forEach((w, k) => positions.set(w.slice(0, 5), [...(positions.get(w.slice(0, 5)) ?? []), k + 1]));
    positions.set(String(i + 1), [words + 1]);
    return {
      id: crypto.randomUUID(),
      sequence: i + 1,
      role: i % 2 ? 'assistant' : 'user',
      name: null,
      content: `${text.join(' ')} ${i + 1}.`,
      token_count: words,
      external_id: null,
      tool_call_id: null,
      tool_calls: null,
      created_at: new Date(1.7e12 + i * 1000).toISOString(),
      score: 0,
      lexemes: [...positions].map(([w, p]) => `'${w}':${p.join(',')}`).join(' '),
    };
  });
}

/** A copy of `n` turns of `words` words, read from rows made for it. */
async function copyOf(id: string, n: number, words: number) {
  const session = { id, created_at: '2025-01-01T00:00:00.000Z', last_sequence: n, total_tokens: n * words };
  const held = rows(n, words);
  const store = { query: async () => held } as unknown as Store;
  const copy = await snapshotTurnSource(store, 'memory-test', session, 1e12);
  held.length = 0; // the copy keeps what it needs of the rows, not the rows
  return copy;
}

describe('the session copy’s memory estimate', () => {
  beforeAll(async () => {
    // The code's first runs (compiled code, type feedback) cost once, not per turn: paid before measuring.
    for (const words of [8, 300]) await copyOf(`warm${words}`, 500, words);
    forgetSnapshot('memory-test', 'warm8');
    forgetSnapshot('memory-test', 'warm300');
  });

  it.each([8, 40, 300])('holds for turns of %i words, within twice the real size', async (words) => {
    const n = 4_000;
    gc();
    const heap = process.memoryUsage();
    const estimated = snapshotStats().bytes;
    const copy = await copyOf(`m${words}`, n, words);
    gc();
    const after = process.memoryUsage();
    const real = after.heapUsed + after.arrayBuffers - heap.heapUsed - heap.arrayBuffers;
    const estimate = snapshotStats().bytes - estimated;
    expect(estimate).toBeGreaterThanOrEqual(real);
    expect(estimate).toBeLessThanOrEqual(2 * real);
    expect(copy).toBeDefined();
    forgetSnapshot('memory-test', `m${words}`);
  });
});
