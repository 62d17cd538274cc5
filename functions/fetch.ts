// HTTP entrypoint: the same Hono app as the Node server, over the Workers adapters.
import { errorResponse } from '../src/http/errors.js';
import { runtimeFor, type WorkerEnv } from './env.js';

export async function handleFetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
  let runtime;
  try {
    runtime = await runtimeFor(env);
  } catch (err) {
    // No logger yet: the settings that configure it may be what failed.
    const requestId = crypto.randomUUID();
    console.error(
      JSON.stringify({
        time: new Date().toISOString(),
        level: 'error',
        msg: 'worker start failed',
        request_id: requestId,
        error: (err as Error).message,
      }),
    );
    return errorResponse(
      requestId,
      'UNAVAILABLE',
      'the service is not configured correctly; the request id identifies it in the logs',
    );
  }
  const response = await runtime.app.fetch(request, env, ctx);
  // The spans of this request leave before the isolate may be evicted; a failed export only loses spans.
  if (runtime.deps.tracing)
    ctx.waitUntil(
      runtime.deps.tracing
        .flush()
        .catch((err: Error) => runtime.deps.logger.warn('span export failed', { error: err.message })),
    );
  // Isolates are many and short-lived, so /metrics alone would miss most counts: every METRICS_LOG_EVERY requests an
  // isolate also writes its counters to the log, which Workers Observability / Logpush collect and aggregate.
  if (runtime.deps.metrics && ++served % METRICS_LOG_EVERY === 0)
    runtime.deps.logger.info('metrics', { served, prometheus: runtime.deps.metrics.render() });
  return response;
}

const METRICS_LOG_EVERY = 100;
let served = 0;
