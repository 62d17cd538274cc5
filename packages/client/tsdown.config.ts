// Builds the client package from src/client: ESM and CommonJS with bundled declarations; the adapters import only
// their framework (an optional peer) and the client.
import { defineConfig } from 'tsdown';

export default defineConfig({
  cwd: import.meta.dirname,
  entry: {
    index: '../../src/client/index.ts',
    'ai-sdk': '../../src/client/adapters/ai-sdk.ts',
    'openai-agents': '../../src/client/adapters/openai-agents.ts',
    langchain: '../../src/client/adapters/langchain.ts',
  },
  format: ['esm', 'cjs'],
  outDir: 'dist',
  platform: 'neutral',
  target: 'es2022',
  dts: true,
  clean: true,
  fixedExtension: true,
  sourcemap: false,
});
