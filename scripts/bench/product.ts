// The product case: the service wired exactly as the Node runtime wires it (createNodeDeps + buildApp) and driven
// only through HTTP requests to its app, i.e. through its real write, query and rebuild paths, in this process.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { setImmediate } from 'node:timers/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { parseEnv } from '../../src/config/env.js';
import { defaults } from '../../src/config/tuning.js';
import type { Store } from '../../src/db/store.js';
import { buildApp } from '../../src/http/routes/index.js';
import { compress } from '../../src/pipeline/compressor/index.js';
import { createNodeDeps, type NodeDeps } from '../../src/runtime/node/deps.js';
import { createApiKey } from '../../src/services/auth.js';
import { refreshStatistics, statisticsBeat } from '../../src/services/maintenance.js';
import { batches, sessionTurns, warmUpQuestions, type BenchTurn, type Corpus } from './data.js';
import { result, type Result } from './report.js';
import { cpuMs, median, peakRssMb, percentile, rssMb } from './stats.js';

export interface ProductOptions {
  corpus: Corpus;
  /** Session sizes, measured in this order. */
  sizes: number[];
  /** Distinct questions asked once each (cache misses). */
  queries: number;
  /** Repeated questions (cache hits). */
  warmQueries: number;
  /** Queries on a throw-away session before any measurement, none of them a measured question. */
  warmUpQueries: number;
  budget: number;
  /** Single-turn writes measured after the queries. */
  batch1Writes: number;
  /** postgres://… (with optional redis://…); embedded PGlite in a directory otherwise. */
  database?: string | undefined;
  redis?: string | undefined;
  /** Keep the embedded database here (plus sessions.json) for the profile and EXPLAIN drivers; a temp dir otherwise. */
  keepDir?: string | undefined;
  logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug' | undefined;
  log: (line: string) => void;
}

export interface Running {
  deps: NodeDeps;
  app: ReturnType<typeof buildApp>;
  dataDir: string | undefined;
  close(): Promise<void>;
}

/** Starts the product; `store` lets a driver wrap the store (e.g. to record the SQL a request runs). */
export async function startProduct(opts: {
  database?: string | undefined;
  redis?: string | undefined;
  dataDir?: string | undefined;
  store?: Store;
  logLevel?: ProductOptions['logLevel'];
}): Promise<Running> {
  const external = !!(opts.database || opts.store);
  const dataDir = external ? undefined : (opts.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'bench-pglite-'))));
  const temporary = !external && !opts.dataDir;
  // Only these settings: nothing from the caller's environment (an LLM key, a log level) may change what is
  // measured. The rate limiter stays on the path with a limit no run reaches.
  const env = parseEnv({
    LOG_LEVEL: opts.logLevel ?? 'silent',
    RATE_LIMIT_PER_MINUTE: '1000000000',
    ...(dataDir ? { DATA_DIR: dataDir } : {}),
    ...(opts.database ? { DATABASE_URL: opts.database } : {}),
    ...(opts.redis ? { REDIS_URL: opts.redis } : {}),
  });
  const deps = await createNodeDeps(env, opts.store ? { store: opts.store } : {});
  return {
    deps,
    app: buildApp(deps),
    dataDir,
    async close() {
      await deps.close();
      if (temporary && dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function call(
  app: Running['app'],
  key: string,
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const res = await app.request(url, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

export async function writeBatch(
  app: Running['app'],
  key: string,
  sessionId: string,
  turns: BenchTurn[],
): Promise<void> {
  const r = await call(app, key, 'POST', `/v1/sessions/${sessionId}/turns`, { turns });
  if (r.status !== 201) throw new Error(`write failed (${r.status}): ${JSON.stringify(r.json).slice(0, 500)}`);
}

export async function askContext(
  app: Running['app'],
  key: string,
  sessionId: string,
  query: string,
  budget: number,
): Promise<{ ms: number; cached: boolean }> {
  const started = performance.now();
  const r = await call(app, key, 'POST', `/v1/sessions/${sessionId}/context`, { query, budget_tokens: budget });
  const ms = performance.now() - started;
  if (r.status !== 200) throw new Error(`QueryContext failed (${r.status}): ${JSON.stringify(r.json).slice(0, 500)}`);
  return { ms, cached: r.json.cached === true };
}

/**
 * Writes `turns` turns in batches of 100, with a progress line every few seconds; resolves once the job queue drained.
 */
export async function buildSession(
  running: Running,
  key: string,
  sessionId: string,
  corpus: Corpus,
  turns: number,
  log: (line: string) => void,
  label: string,
): Promise<{ writeMs: number; writeCpuMs: number; buildMs: number }> {
  const started = performance.now();
  const cpuStarted = cpuMs();
  let written = 0;
  let lastLog = started;
  for (const batch of batches(sessionTurns(corpus, turns), 100)) {
    // Requests reach a server as I/O events, each its own turn of the event loop, so its timers (held jobs, the
    // statistics beat) run between them; in-process calls alone would chain microtasks and starve those timers.
    await setImmediate();
    await writeBatch(running.app, key, sessionId, batch);
    written += batch.length;
    const now = performance.now();
    if (now - lastLog > 5_000) {
      lastLog = now;
      const rate = written / ((now - started) / 1000);
      const eta = (turns - written) / rate;
      log(
        `${label}: ${written.toLocaleString('en-US')}/${turns.toLocaleString('en-US')} turns written · ${Math.round(rate).toLocaleString('en-US')} turns/s · rss ${Math.round(rssMb())} MB · ~${Math.round(eta)} s left`,
      );
    }
  }
  const acked = performance.now();
  const writeCpuMs = cpuMs() - cpuStarted;
  await running.deps.queue.drain();
  const drained = performance.now();
  // What the server's maintenance sweep does within a minute of the writes: planner statistics for the new rows.
  await refreshStatistics(running.deps);
  return { writeMs: acked - started, writeCpuMs, buildMs: drained - started };
}

/**
 * Every size in one process and one database, smallest first: start-up is paid once, and each size's peak RSS is the
 * process's peak so far (getrusage never decreases), which includes the smaller sessions still stored beside it, as
 * a server holding other sessions would.
 */
export async function runProduct(o: ProductOptions): Promise<Result[]> {
  const running = await startProduct({
    database: o.database,
    redis: o.redis,
    dataDir: o.keepDir,
    logLevel: o.logLevel,
  });
  // The Node runtime's statistics beat, as `npm start` runs it; long builds get it too.
  const stopStatistics = statisticsBeat(running.deps, { analyzed: () => undefined, failed: () => undefined });
  const out: Result[] = [];
  const kept: Record<string, unknown>[] = [];
  try {
    const tenantId = `bench-${crypto.randomUUID().slice(0, 8)}`;
    const { key } = await createApiKey(running.deps, { tenantId });
    await warmUp(running, key, o);
    for (const turns of o.sizes) {
      out.push(...(await measureSize(running, o, { tenantId, key, turns })));
      kept.push({ tenantId, key, sessionId: `bench-${turns}`, turns });
      if (o.keepDir)
        await writeFile(
          path.join(o.keepDir, 'sessions.json'),
          JSON.stringify({ database: o.database ?? null, sessions: kept }, null, 2),
        );
    }
    // A shared PostgreSQL keeps no bench data behind unless asked to; deleting goes through the product too.
    if (o.database && !o.keepDir) {
      for (const s of ['bench-warmup', ...o.sizes.flatMap((turns) => [`bench-${turns}`, `bench-window-${turns}`])])
        await call(running.app, key, 'DELETE', `/v1/sessions/${s}`);
    }
  } finally {
    stopStatistics();
    await running.close();
  }
  return out;
}

/**
 * What a server has done before its first real session: 500 writes and a few hundred queries on a throw-away session,
 * so the first measured size is not also the process's start-up (JIT, PGlite's WASM tier-up, the tokenizer's merge
 * cache). Its questions are the corpus's last ones, never one of the measured (first) questions, so no answer or
 * per-query memo carries over. Its own time is logged, not reported.
 */
export async function warmUp(
  running: Running,
  key: string,
  o: Pick<ProductOptions, 'corpus' | 'budget' | 'log' | 'queries' | 'warmUpQueries'>,
): Promise<void> {
  const started = performance.now();
  const sessionId = 'bench-warmup';
  await buildSession(running, key, sessionId, o.corpus, 500, () => undefined, 'warm-up');
  const asked = warmUpQuestions(o.corpus.questions, o.queries, o.warmUpQueries);
  for (const q of asked) {
    await setImmediate();
    await askContext(running.app, key, sessionId, q, o.budget);
  }
  await running.deps.queue.drain();
  o.log(
    `product: warm-up (500 turns, ${asked.length} queries on a separate session) took ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

async function measureSize(
  running: Running,
  o: ProductOptions,
  s: { tenantId: string; key: string; turns: number },
): Promise<Result[]> {
  const { deps, app } = running;
  const { tenantId, key, turns: size } = s;
  const label = `product ${size.toLocaleString('en-US')}`;
  const out: Result[] = [];
  const add = (metric: Parameters<typeof result>[2], value: number) => out.push(result('product', size, metric, value));
  add('rss_before_mb', rssMb());
  const sessionId = `bench-${size}`;

  const build = await buildSession(running, key, sessionId, o.corpus, size, o.log, label);
  add('write_turns_per_s', size / (build.writeMs / 1000));
  add('write_cpu_turns_per_s', size / (build.writeCpuMs / 1000));
  add('build_s', build.buildMs / 1000);
  const compactions = await deps.store.query<{ duration_ms: number }>(
    sql`SELECT duration_ms FROM compactions WHERE tenant_id = ${tenantId} AND session_id = ${sessionId}`,
  );
  if (compactions.length)
    add(
      'compaction_p95_ms',
      percentile(
        compactions.map((c) => Number(c.duration_ms)),
        95,
      ),
    );
  o.log(
    `${label}: built in ${(build.buildMs / 1000).toFixed(1)} s (writes ${(build.writeMs / 1000).toFixed(1)} s, ${compactions.length} compactions); querying`,
  );
  if (deps.queue.deadLetters.length)
    throw new Error(`${deps.queue.deadLetters.length} compaction jobs failed: ${deps.queue.deadLetters[0]!.error}`);

  // Cold: each question once; the cache key covers the query, so every call assembles a fresh context.
  const cold: number[] = [];
  const coldCpu: number[] = [];
  const questions = o.corpus.questions.slice(0, o.queries);
  for (const q of questions) {
    await setImmediate(); // between requests, as between two I/O events (see buildSession)
    const cpu0 = cpuMs();
    const r = await askContext(app, key, sessionId, q, o.budget);
    coldCpu.push(cpuMs() - cpu0);
    if (r.cached) throw new Error('a first-time query was answered from the cache');
    cold.push(r.ms);
  }
  add('query_p50_ms', percentile(cold, 50));
  add('query_p95_ms', percentile(cold, 95));
  add('query_p99_ms', percentile(cold, 99));
  add('query_cpu_p50_ms', percentile(coldCpu, 50));
  add('query_cpu_p95_ms', percentile(coldCpu, 95));

  // Warm: a few of the same questions again; nothing was written since, so each is a cache hit.
  const warm: number[] = [];
  const repeated = questions.slice(0, Math.min(20, questions.length));
  for (let i = 0; i < o.warmQueries; i++) {
    await setImmediate();
    const r = await askContext(app, key, sessionId, repeated[i % repeated.length]!, o.budget);
    if (!r.cached) throw new Error('a repeated query missed the cache');
    warm.push(r.ms);
  }
  add('query_warm_p50_ms', percentile(warm, 50));
  add('query_warm_p95_ms', percentile(warm, 95));
  o.log(
    `${label}: query p50 ${percentile(cold, 50).toFixed(1)} ms, p95 ${percentile(cold, 95).toFixed(1)} ms (CPU p50 ${percentile(coldCpu, 50).toFixed(1)} ms); warm p95 ${percentile(warm, 95).toFixed(2)} ms`,
  );

  // Compression of a 200-turn window: the compressor alone, on five different windows of the session's text.
  const window = [...sessionTurns(o.corpus, 1000)];
  const compressMs: number[] = [];
  for (let w = 0; w < 5; w++) {
    const turns = window
      .slice(w * 200, w * 200 + 200)
      .map((t) => ({ speaker: t.name ?? t.role, text: t.content, importance: 0.5 }));
    const t0 = performance.now();
    await compress('summarize', { previousSummary: '', turns }, defaults.summaryMaxTokens, {
      tokenizer: deps.tokenizer,
      llm: undefined,
      logger: deps.logger,
    });
    compressMs.push(performance.now() - t0);
  }
  add('compress_200_ms', median(compressMs));

  // RebuildContext on a 200-turn session: the request, the queued job, the summary stored.
  const windowSession = `bench-window-${size}`;
  for (const batch of batches(window.slice(0, 200), 100)) await writeBatch(app, key, windowSession, batch);
  await deps.queue.drain();
  const rebuildMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = await call(app, key, 'POST', `/v1/sessions/${windowSession}/rebuild`, { strategy: 'summarize' });
    if (r.status !== 202) throw new Error(`rebuild failed (${r.status}): ${JSON.stringify(r.json)}`);
    await deps.queue.drain();
    rebuildMs.push(performance.now() - t0);
  }
  const [rebuilt] = await deps.store.query<{ n: number }>(
    sql`SELECT count(*)::int AS n FROM compactions WHERE tenant_id = ${tenantId} AND session_id = ${windowSession} AND reason = 'rebuild'`,
  );
  if (Number(rebuilt?.n ?? 0) < 5) throw new Error(`expected 5 rebuild compactions, found ${rebuilt?.n}`);
  add('rebuild_200_ms', median(rebuildMs));

  // One turn per request, continuing the big session.
  if (o.batch1Writes > 0) {
    let i = 0;
    const extra: BenchTurn[] = [];
    for (const t of sessionTurns(o.corpus, size + o.batch1Writes)) if (i++ >= size) extra.push(t);
    const t0 = performance.now();
    for (const t of extra) await writeBatch(app, key, sessionId, [t]);
    add('write_batch1_turns_per_s', extra.length / ((performance.now() - t0) / 1000));
    await deps.queue.drain();
  }
  add('peak_rss_mb', peakRssMb());
  return out;
}
