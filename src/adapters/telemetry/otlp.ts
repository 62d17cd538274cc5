// OpenTelemetry over OTLP/HTTP (JSON) for Node and Workers: a QueryContext becomes a span with a child per stage,
// made after the fact from the stage timings the trace records. The SDK is loaded only when an endpoint is configured.
import type { Env } from '../../config/env.js';
import type { Logger } from '../../logger.js';
import type { QuerySpans, Tracing } from '../../ports.js';

/** `key=value,key2=value2` as the OTel environment specification writes headers; values may be URL-encoded. */
export function parseOtlpHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at > 0) headers[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

export function tracesUrl(env: Pick<Env, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'>) {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) return `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

export async function otlpTracing(env: Env, logger: Logger): Promise<Tracing | undefined> {
  const url = tracesUrl(env);
  if (!url) return undefined;
  const [api, sdk, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const exporter = new OTLPTraceExporter({ url, headers: parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS) });
  const provider = new sdk.TracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME }),
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter, scheduledDelayMillis: 1_000 })],
  });
  const tracer = provider.getTracer('context-engine');
  logger.info('exporting spans over OTLP/HTTP', { url: new URL(url).origin });
  return {
    queryContext({ startedAt, stages, attributes }: QuerySpans) {
      const root = tracer.startSpan('QueryContext', { kind: api.SpanKind.SERVER, startTime: startedAt, attributes });
      const parent = api.trace.setSpan(api.ROOT_CONTEXT, root);
      // Each stage starts where the one before ended; the last one ends the call.
      let at = startedAt;
      for (const { stage, ms } of stages) {
        tracer.startSpan(stage, { startTime: at, attributes: { 'context_engine.stage': stage } }, parent).end(at + ms);
        at += ms;
      }
      root.end(at);
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
