// Builds the client package from src/client: ESM and CommonJS with bundled declarations that import nothing else.
import { defineConfig } from 'tsdown';

export default defineConfig({
  cwd: import.meta.dirname,
  entry: { index: '../../src/client/index.ts' },
  format: ['esm', 'cjs'],
  outDir: 'dist',
  platform: 'neutral',
  target: 'es2022',
  dts: true,
  clean: true,
  fixedExtension: true,
  sourcemap: false,
});
