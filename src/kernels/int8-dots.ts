// Integer dot products of int8 vector rows in WebAssembly SIMD, where the runtime compiles WebAssembly from bytes
// (Node; a Worker may not, and keeps its JavaScript loops): word-vector rows against one of them (`int8Dots`), and
// rows stored one after another against an int16 query (`int8Scan`). The module is int8-dots.wat, compiled with wabt
// (`npm run build:wasm` writes the bytes below; a test checks they match the source).

/** The compiled module (int8-dots.wat). */
export const INT8_DOTS_WASM =
  'AGFzbQEAAAABEgJgBX9/f39/AGAGf39/f39/AAMDAgABBQMBAAEHGAMGbWVtb3J5AgAEZG90cwAABHNjYW4AAQqSAwL4AQQEfwF7AX8CeyADIANBEHBrIQgCQANAIAUgAk8NASABIAVBAnRqKAIAIANsIQb9DAAAAAAAAAAAAAAAAAAAAAAhCUEAIQcCQANAIAcgCE8NASAAIAdq/QAEACELIAYgB2r9AAQAIQwgCSAL/YcBIAz9hwH9ugH9rgEhCSAJIAv9iAEgDP2IAf26Af2uASEJIAdBEGohBwwACwsgCf0bACAJ/RsBaiAJ/RsCIAn9GwNqaiEKAkADQCAHIANPDQEgCiAAIAdqLAAAIAYgB2osAABsaiEKIAdBAWohBwwACwsgBCAFQQJ0aiAKNgIAIAVBAWohBQwACwsLlQECA38BewJAA0AgBiADTw0BIAIgBiAEbGohB/0MAAAAAAAAAAAAAAAAAAAAACEJQQAhCAJAA0AgCCABTw0BIAkgACAIQQF0av0ABAAgByAIav0BAwD9ugH9rgEhCSAIQQhqIQgMAAsLIAUgBkECdGogCf0bACAJ/RsBaiAJ/RsCIAn9GwNqajYCACAGQQFqIQYMAAsLCw==';

export interface Int8Dots {
  /** The table's values, now held in the module's memory (the same numbers as the table given). */
  values: Int8Array;
  /** Exact integer dot products of table row `q` with each of `rows` (at most the table's row count). */
  dots(q: number, rows: readonly number[]): Int32Array;
}

const PAGE = 65_536;

/** Compiled on the spot: the Workers types declare the constructor abstract, as a Worker refuses bytes (it throws). */
const Module = WebAssembly.Module as unknown as new (bytes: Uint8Array) => WebAssembly.Module;

/** A new instance of the module (its own memory); throws where WebAssembly cannot be compiled from bytes. */
const instance = () =>
  new WebAssembly.Instance(new Module(Uint8Array.from(atob(INT8_DOTS_WASM), (c) => c.charCodeAt(0))));

/** `memory` grown, where needed, to hold `bytes` (growing detaches its earlier buffer: make views after this). */
function reserve(memory: WebAssembly.Memory, bytes: number): void {
  const need = Math.ceil(bytes / PAGE);
  const have = memory.buffer.byteLength / PAGE;
  if (need > have) memory.grow(need - have);
}

/**
 * The table's `count` rows of `dims` values copied into a module's memory, with room for a list of `count` rows
 * and their results; undefined where WebAssembly (or its SIMD) cannot be compiled here.
 */
export function int8Dots(values: Int8Array, count: number, dims: number): Int8Dots | undefined {
  let exports: {
    memory: WebAssembly.Memory;
    dots: (q: number, rows: number, n: number, dims: number, out: number) => void;
  };
  try {
    exports = instance().exports as typeof exports;
  } catch {
    return undefined;
  }
  const tableBytes = count * dims;
  // The row list and the results after the table, each count × 4 bytes, 4-aligned.
  const rowsAt = Math.ceil(tableBytes / 4) * 4;
  const outAt = rowsAt + count * 4;
  reserve(exports.memory, outAt + count * 4);
  const held = new Int8Array(exports.memory.buffer, 0, tableBytes);
  held.set(values.subarray(0, tableBytes));
  const rowList = new Int32Array(exports.memory.buffer, rowsAt, count);
  const results = new Int32Array(exports.memory.buffer, outAt, count);
  return {
    values: held,
    dots(q, rows) {
      if (rows.length > count) throw new Error(`${rows.length} rows exceed the table's ${count}`);
      rowList.set(rows);
      exports.dots(q * dims, rowsAt, rows.length, dims, outAt);
      return results.subarray(0, rows.length);
    },
  };
}

/**
 * Σ_d query[d] × rows[i × dims + d] for each of the `rows.length / dims` rows, in i32: the query's components must be
 * integers with |q| × 128 × dims (rounded up to 8) below 2^31 (see `maxScanQuery`).
 */
export type Int8Scan = (rows: Int8Array, dims: number, query: Int16Array) => Int32Array;

/** The largest |component| of an int16 query `scan` takes for rows of `dims` values: no sum can overflow i32. */
export const maxScanQuery = (dims: number): number =>
  Math.min(32_767, Math.floor(0x7fff_ffff / (128 * Math.ceil(dims / 8) * 8)));

/** A scan of int8 rows by an int16 query in WebAssembly SIMD; undefined where it cannot be compiled here. */
export function int8Scan(): Int8Scan | undefined {
  let exports: {
    memory: WebAssembly.Memory;
    scan: (q: number, padded: number, rows: number, n: number, stride: number, out: number) => void;
  };
  try {
    exports = instance().exports as typeof exports;
  } catch {
    return undefined;
  }
  return (rows, dims, query) => {
    const n = Math.floor(rows.length / dims);
    const padded = Math.ceil(dims / 8) * 8;
    if (query.length !== dims) throw new Error(`a query of ${query.length} values for rows of ${dims}`);
    // The query (padded with zeros), the results, then the rows with 8 bytes to spare for a last row's last step.
    const outAt = padded * 2;
    const rowsAt = outAt + n * 4;
    reserve(exports.memory, rowsAt + rows.length + 8);
    const q = new Int16Array(exports.memory.buffer, 0, padded);
    q.set(query);
    q.fill(0, dims);
    new Int8Array(exports.memory.buffer, rowsAt, rows.length + 8).set(rows);
    exports.scan(0, padded, rowsAt, n, dims, outAt);
    return new Int32Array(exports.memory.buffer, outAt, n);
  };
}
