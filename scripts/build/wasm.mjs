// npm run build:wasm — compiles src/kernels/int8-dots.wat with wabt and writes its bytes (base64) into
// int8-dots.ts, where the embedder instantiates them (a test checks the two agree).
import { readFileSync, writeFileSync } from 'node:fs';
import wabtInit from 'wabt';

const dir = new URL('../../src/kernels/', import.meta.url);
const source = readFileSync(new URL('int8-dots.wat', dir), 'utf8');
const wabt = await wabtInit();
const { buffer } = wabt.parseWat('int8-dots.wat', source, { simd: true }).toBinary({});
const target = new URL('int8-dots.ts', dir);
const before = readFileSync(target, 'utf8');
const after = before.replace(
  /(export const INT8_DOTS_WASM =\s*')[^']*(')/,
  `$1${Buffer.from(buffer).toString('base64')}$2`,
);
if (after === before) process.stdout.write('int8-dots.ts already holds the compiled module\n');
else {
  writeFileSync(target, after);
  process.stdout.write(`wrote ${buffer.length} bytes of WebAssembly into int8-dots.ts\n`);
}
