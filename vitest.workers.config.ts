import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// Tests that run inside workerd through the real Worker (functions/worker.ts), against the Neon, Upstash and
// Kafka-REST stand-ins that test/workers/global-setup.ts starts over the local PostgreSQL and Redis.
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        // Override wrangler.toml and .dev.vars. The Neon client validates the connection string but the stand-in
        // never contacts its host; every query goes to the endpoint below.
        bindings: {
          DATABASE_URL: 'postgres://worker:worker@db.test.neon.tech/context_engine_test',
          NEON_FETCH_ENDPOINT: inject('neonFetchEndpoint'),
          UPSTASH_REDIS_REST_URL: inject('upstashUrl'),
          UPSTASH_REDIS_REST_TOKEN: inject('upstashToken'),
          // Credentials only: with no topic set the adapter stays off; the Kafka tests name their own topics.
          KAFKA_REST_URL: inject('kafkaUrl'),
          KAFKA_REST_USERNAME: inject('kafkaUsername'),
          KAFKA_REST_PASSWORD: inject('kafkaPassword'),
          LOG_LEVEL: 'warn',
          // The test webhook receiver listens on loopback.
          CONTEXT_WEBHOOK_ALLOW_PRIVATE: 'true',
          // Not a setting of the Worker: where the test webhook receiver listens.
          TEST_WEBHOOK_RECEIVER_URL: inject('webhookReceiverUrl'),
          // Not a setting either: the OTLP receiver; the telemetry test sets OTEL_EXPORTER_OTLP_ENDPOINT to it.
          TEST_OTLP_RECEIVER_URL: inject('otlpReceiverUrl'),
        },
      },
    })),
  ],
  test: {
    name: 'workers',
    include: ['test/workers/**/*.test.ts'],
    globalSetup: ['test/workers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
