// The product, started in-process exactly as the Node runtime wires it (embedded in-memory database, in-process
// compression queue) and used only through HTTP requests to its app, i.e. through its own write and query paths.
import { parseEnv } from '../../src/config/env.js';
import { buildApp } from '../../src/http/routes/index.js';
import { createNodeDeps, type NodeDeps } from '../../src/runtime/node/deps.js';
import { createApiKey } from '../../src/services/auth.js';
import type { EvalCase, WriteStep } from './harness.js';

export interface Product {
  deps: NodeDeps;
  app: ReturnType<typeof buildApp>;
  close(): Promise<void>;
}

/** An OpenAI-compatible embedding endpoint the product is measured with, instead of its offline default. */
export interface EvalEmbeddings {
  baseURL: string;
  model: string;
  /** Defaults to OPENAI_API_KEY from the environment, or a placeholder for local servers that ask for none. */
  apiKey?: string;
}

/**
 * `rateLimit: false` lifts the per-key request limit, for drivers that ask more than it allows in a minute (a sweep
 * of several settings); the eval keeps it, as production does. `embeddings` measures the product with a remote
 * embedding model (stored turn vectors, ADR 0012); summaries stay extractive either way, so only retrieval differs.
 */
export async function startProduct(opts: { rateLimit?: boolean; embeddings?: EvalEmbeddings } = {}): Promise<Product> {
  // Only these settings: nothing else from the caller's environment (e.g. an LLM key) may change what is measured.
  const e = opts.embeddings;
  const env = parseEnv({
    LOG_LEVEL: 'silent',
    ...(opts.rateLimit === false ? { RATE_LIMIT_PER_MINUTE: '0' } : {}),
    ...(e
      ? {
          OPENAI_API_KEY: e.apiKey ?? process.env.OPENAI_API_KEY ?? 'none',
          OPENAI_BASE_URL: e.baseURL,
          CONTEXT_EMBEDDING_MODEL: e.model,
        }
      : {}),
  });
  const deps = await createNodeDeps(env, { inMemory: true });
  deps.llm = undefined;
  return { deps, app: buildApp(deps), close: () => deps.close() };
}

export interface ProductSession {
  key: string;
  sessionId: string;
}

async function call(
  product: Product,
  key: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const res = await product.app.request(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json: json ?? text };
}

const safeId = (s: string) => s.replace(/[^A-Za-z0-9._:@-]/g, '-').slice(0, 100);

/** A turn as the write API takes it. */
export interface WriteTurn {
  role: 'user' | 'assistant' | 'tool';
  content: string;
  name?: string;
  external_id?: string;
  created_at?: string;
  tool_call_id?: string;
  tool_calls?: { id: string; name: string; arguments: string }[];
}

/** A fresh tenant per case, so every case starts from an empty store. */
export async function openSession(product: Product, name: string, ordinal: number): Promise<ProductSession> {
  const tenantId = `eval-${ordinal}-${crypto.randomUUID().slice(0, 8)}`;
  const { key } = await createApiKey(product.deps, { tenantId });
  return { key, sessionId: safeId(name) };
}

/** Who a session belongs to: set by its first write. */
export interface SessionOwner {
  user_id: string;
  agent_id: string;
}

/** Another session of the same tenant (same key). */
export const inSession = (s: ProductSession, id: string): ProductSession => ({ key: s.key, sessionId: safeId(id) });

/** One write request; every turn must be stored (none reported as a duplicate). */
export async function writeBatch(
  product: Product,
  s: ProductSession,
  turns: WriteTurn[],
  label: string,
  owner?: SessionOwner,
): Promise<void> {
  const r = await call(product, s.key, `/v1/sessions/${s.sessionId}/turns`, { turns, ...owner });
  if (r.status !== 201) throw new Error(`${label}: write failed (${r.status}): ${JSON.stringify(r.json)}`);
  const duplicates = (r.json.turns as { duplicate: boolean }[]).filter((t) => t.duplicate).length;
  if (duplicates > 0) throw new Error(`${label}: ${duplicates} turns reported as duplicates`);
}

/** Writes one step of a case to the session it names (else `s`), with its owner; returns that session. */
export async function writeStep(
  product: Product,
  s: ProductSession,
  step: WriteStep,
  label = step.label,
): Promise<ProductSession> {
  const target = step.session ? inSession(s, step.session) : s;
  await writeBatch(
    product,
    target,
    step.write.map((t) => t.write),
    label,
    step.owner,
  );
  return target;
}

/** Writes every turn of a case under the given tenant, then waits for the jobs the writes queued. */
export async function writeCase(product: Product, c: EvalCase, tenantId: string): Promise<ProductSession> {
  const { key } = await createApiKey(product.deps, { tenantId });
  const s = { key, sessionId: c.sessionId };
  for (const step of c.steps) if ('write' in step) await writeStep(product, s, step);
  await product.deps.queue.drain();
  return s;
}

/** How many compactions the session went through, from its audit timeline: shows compression really ran. */
export async function compactionCount(product: Product, s: ProductSession): Promise<number> {
  const r = await call(product, s.key, `/v1/sessions/${s.sessionId}/compactions`);
  if (r.status !== 200) throw new Error(`compaction list failed (${r.status}): ${JSON.stringify(r.json)}`);
  return (r.json.compactions as unknown[]).length;
}

export interface ProductAnswer {
  text: string;
  /** Sequences of the turns placed as relevant history (retrieved for the query, not the newest turns). */
  retrieved: number[];
  /** Wall time of the HTTP call, including reading the JSON body. */
  ms: number;
}

/** QueryContext with the question (when there is one) and the budget only. */
export async function queryProduct(
  product: Product,
  s: ProductSession,
  query: string | undefined,
  budget: number,
): Promise<ProductAnswer> {
  const started = performance.now();
  const body = query ? { query, budget_tokens: budget } : { budget_tokens: budget };
  const r = await call(product, s.key, `/v1/sessions/${s.sessionId}/context`, body);
  const ms = performance.now() - started;
  if (r.status !== 200) throw new Error(`QueryContext failed (${r.status}): ${JSON.stringify(r.json)}`);
  const history: { source: string; sequence: number | null }[] = r.json.envelope?.relevant_history ?? [];
  const retrieved = history
    .filter((h) => h.source === 'retrieved' && h.sequence !== null)
    .map((h) => Number(h.sequence));
  return { text: String(r.json.rendered?.text ?? ''), retrieved, ms };
}
