import { defineConfig } from 'vitest/config';

// Two projects: `node` (unit tests and integration tests against PGlite and the real PostgreSQL and Redis on this
// machine) and `workers` (the Worker inside workerd, against the local Neon and Upstash stand-ins).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/workers/**'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      './vitest.workers.config.ts',
    ],
  },
});
