// Offline sentence vectors from the bundled word-vector table (ADR 0006): the SIF-weighted mean of a text's word
// vectors without the table's common direction (Arora et al., 2017). A weak meaning signal, for seeds and the ranker.
import { unit, type WordLevel, type WordVectorEmbedder } from '../../embedder.js';
import { int8Dots } from '../../kernels/int8-dots.js';

export interface WordVectorTable {
  dims: number;
  /** Word → row; rows are in corpus frequency order. */
  index: Map<string, number>;
  values: Int8Array;
  scale: number;
}

/** The table file: magic "WVEC", u32 version 1, u32 words, u32 dims, f32 scale, u32 text bytes, words joined by
 * "\n" (UTF-8), then words × dims int8 values (little-endian header). */
export function serializeWordVectors(words: readonly string[], vectors: readonly ArrayLike<number>[]): Uint8Array {
  const dims = vectors[0]?.length ?? 0;
  let max = 0;
  for (const v of vectors) for (let d = 0; d < dims; d++) max = Math.max(max, Math.abs(v[d]!));
  const scale = max > 0 ? max / 127 : 1;
  const text = new TextEncoder().encode(words.join('\n'));
  const out = new Uint8Array(24 + text.length + words.length * dims);
  const view = new DataView(out.buffer);
  out.set([0x57, 0x56, 0x45, 0x43], 0);
  view.setUint32(4, 1, true);
  view.setUint32(8, words.length, true);
  view.setUint32(12, dims, true);
  view.setFloat32(16, scale, true);
  view.setUint32(20, text.length, true);
  out.set(text, 24);
  const values = new Int8Array(out.buffer, 24 + text.length);
  vectors.forEach((v, i) => {
    for (let d = 0; d < dims; d++) values[i * dims + d] = Math.round(v[d]! / scale);
  });
  return out;
}

export function parseWordVectors(bytes: Uint8Array): WordVectorTable {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  if (magic !== 'WVEC' || view.getUint32(4, true) !== 1) throw new Error('not a word-vector table (expected WVEC v1)');
  const count = view.getUint32(8, true);
  const dims = view.getUint32(12, true);
  const scale = view.getFloat32(16, true);
  const textLength = view.getUint32(20, true);
  const words = new TextDecoder().decode(bytes.subarray(24, 24 + textLength)).split('\n');
  if (words.length !== count) throw new Error(`word-vector table lists ${words.length} words, header says ${count}`);
  const start = 24 + textLength;
  if (start + count * dims > bytes.byteLength) throw new Error('word-vector table is truncated');
  const values = new Int8Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + count * dims));
  return { dims, index: new Map(words.map((w, i) => [w, i])), values, scale };
}

/** SIF weight a / (a + p(w)) with p from the word's frequency rank (Zipf). */
function sifWeights(count: number, a = 1e-3): Float32Array {
  const harmonic = Math.log(count) + 0.5772;
  const out = new Float32Array(count);
  for (let r = 0; r < count; r++) out[r] = a / (a + 1 / ((r + 1) * harmonic));
  return out;
}

const WORD = /[a-z]+(?:'[a-z]+)?/g;

export function wordVectorEmbedder(
  table: WordVectorTable,
  model = 'glove-sif-100d',
  options: { simd?: boolean } = {},
): WordVectorEmbedder {
  const { dims, index } = table;
  // Word-level scans in WebAssembly SIMD where it compiles: the same integer dot products, several times faster.
  const kernel = options.simd === false ? undefined : int8Dots(table.values, index.size, dims);
  const values = kernel?.values ?? table.values;
  const weights = sifWeights(index.size);
  const inverseNorms = new Float32Array(index.size);
  for (let r = 0; r < index.size; r++) {
    let n = 0;
    for (let d = 0; d < dims; d++) n += values[r * dims + d]! ** 2;
    inverseNorms[r] = n > 0 ? 1 / Math.sqrt(n) : 0;
  }
  const words: WordLevel = {
    rows: (text) => {
      const out: number[] = [];
      for (const word of text.toLowerCase().match(WORD) ?? []) {
        const row = index.get(word);
        if (row !== undefined) out.push(row);
      }
      return out;
    },
    cosine: (a, b) => {
      // Integer products and sums (exact in any order), four at a time.
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      const ba = a * dims;
      const bb = b * dims;
      let d = 0;
      for (const end = dims - (dims % 4); d < end; d += 4) {
        s0 += values[ba + d]! * values[bb + d]!;
        s1 += values[ba + d + 1]! * values[bb + d + 1]!;
        s2 += values[ba + d + 2]! * values[bb + d + 2]!;
        s3 += values[ba + d + 3]! * values[bb + d + 3]!;
      }
      for (; d < dims; d++) s0 += values[ba + d]! * values[bb + d]!;
      return (s0 + s1 + s2 + s3) * inverseNorms[a]! * inverseNorms[b]!;
    },
    weight: (row) => weights[row]!,
    near: (qRows, rows, threshold, found) => {
      if (kernel && rows.length <= index.size) {
        for (let k = 0; k < qRows.length; k++) {
          const qa = qRows[k]!;
          const dots = kernel.dots(qa, rows);
          for (let i = 0; i < rows.length; i++) {
            // The same expression as cosine's, on the same integers.
            const sim = dots[i]! * inverseNorms[qa]! * inverseNorms[rows[i]!]!;
            if (sim >= threshold) found(k, i, sim);
          }
        }
        return;
      }
      for (let k = 0; k < qRows.length; k += 2)
        if (pairShift && k + 1 < qRows.length) scan(k, qRows[k]!, qRows[k + 1]!, rows, threshold, found);
        else {
          scan(k, qRows[k]!, -1, rows, threshold, found);
          if (k + 1 < qRows.length) scan(k + 1, qRows[k + 1]!, -1, rows, threshold, found);
        }
    },
  };

  // Two query rows scanned at once: their components packed in one number, a + b × 2^s, times a row's give both
  // integer dot products in one sum (exact: every partial sum stays below 2^53), split after the row.
  const bound = dims * 128 * 128; // at least any dot product of two int8 rows
  const pairShift = bound * bound * 4 < 2 ** 53 ? 2 ** Math.ceil(Math.log2(2 * bound + 1)) : 0;
  const packed = new Float64Array(dims);
  /** Query rows `qa` (the k-th) and `qb` (the next; -1 for none) against `rows`: see WordLevel.near. */
  const scan = (
    k: number,
    qa: number,
    qb: number,
    rows: readonly number[],
    threshold: number,
    found: (k: number, i: number, sim: number) => void,
  ) => {
    const ba = qa * dims;
    const bb = qb * dims;
    for (let d = 0; d < dims; d++) packed[d] = values[ba + d]! + (qb < 0 ? 0 : values[bb + d]! * pairShift);
    const odd = dims % 2;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const br = row * dims;
      let s0 = 0;
      let s1 = 0;
      for (let d = 0; d < dims - odd; d += 2) {
        s0 += packed[d]! * values[br + d]!;
        s1 += packed[d + 1]! * values[br + d + 1]!;
      }
      if (odd) s0 += packed[dims - 1]! * values[br + dims - 1]!;
      const s = s0 + s1;
      const dotB = qb < 0 ? 0 : Math.round(s / pairShift);
      const dotA = s - dotB * pairShift;
      // The same expression as cosine's, on the same integers.
      const simA = dotA * inverseNorms[qa]! * inverseNorms[row]!;
      if (simA >= threshold) found(k, i, simA);
      if (qb < 0) continue;
      const simB = dotB * inverseNorms[qb]! * inverseNorms[row]!;
      if (simB >= threshold) found(k + 1, i, simB);
    }
  };
  // Common direction: the frequency-weighted mean of the 5,000 most frequent words' vectors.
  const common = new Float32Array(dims);
  for (let r = 0; r < Math.min(5000, index.size); r++) {
    const w = 1 - weights[r]!;
    for (let d = 0; d < dims; d++) common[d]! += w * values[r * dims + d]!;
  }
  unit(common);

  const embedOne = (text: string) => {
    const v = new Float32Array(dims);
    for (const row of words.rows(text)) {
      const w = weights[row]!;
      const base = row * dims;
      for (let d = 0; d < dims; d++) v[d]! += w * values[base + d]!;
    }
    let along = 0;
    for (let d = 0; d < dims; d++) along += v[d]! * common[d]!;
    for (let d = 0; d < dims; d++) v[d]! -= along * common[d]!;
    return unit(v);
  };
  return {
    model,
    semantic: true,
    embed: async (texts) => texts.map(embedOne),
    words,
  };
}
