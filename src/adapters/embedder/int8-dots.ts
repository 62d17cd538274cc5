// Integer dot products of int8 word-vector rows in WebAssembly SIMD, where the runtime compiles WebAssembly from bytes
// (Node; a Worker may not, and keeps the JavaScript loop). The module is int8-dots.wat, compiled with wabt
// (`npm run build:wasm` writes the bytes below; a test checks they match the source).

/** The compiled module (int8-dots.wat). */
export const INT8_DOTS_WASM =
  'AGFzbQEAAAABCQFgBX9/f39/AAMCAQAFAwEAAQcRAgZtZW1vcnkCAARkb3RzAAAK+wEB+AEEBH8BewF/AnsgAyADQRBwayEIAkADQCAFIAJPDQEgASAFQQJ0aigCACADbCEG/QwAAAAAAAAAAAAAAAAAAAAAIQlBACEHAkADQCAHIAhPDQEgACAHav0ABAAhCyAGIAdq/QAEACEMIAkgC/2HASAM/YcB/boB/a4BIQkgCSAL/YgBIAz9iAH9ugH9rgEhCSAHQRBqIQcMAAsLIAn9GwAgCf0bAWogCf0bAiAJ/RsDamohCgJAA0AgByADTw0BIAogACAHaiwAACAGIAdqLAAAbGohCiAHQQFqIQcMAAsLIAQgBUECdGogCjYCACAFQQFqIQUMAAsLCw==';

export interface Int8Dots {
  /** The table's values, now held in the module's memory (the same numbers as the table given). */
  values: Int8Array;
  /** Exact integer dot products of table row `q` with each of `rows` (at most the table's row count). */
  dots(q: number, rows: readonly number[]): Int32Array;
}

const PAGE = 65_536;

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
    const bytes = Uint8Array.from(atob(INT8_DOTS_WASM), (c) => c.charCodeAt(0));
    exports = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as typeof exports;
  } catch {
    return undefined;
  }
  const tableBytes = count * dims;
  // The row list and the results after the table, each count × 4 bytes, 4-aligned.
  const rowsAt = Math.ceil(tableBytes / 4) * 4;
  const outAt = rowsAt + count * 4;
  const need = Math.ceil((outAt + count * 4) / PAGE);
  const have = exports.memory.buffer.byteLength / PAGE;
  if (need > have) exports.memory.grow(need - have);
  // Views made after growing: growing detaches the memory's earlier buffer.
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
