// The product, started in-process exactly as the Node runtime wires it (embedded in-memory database, in-process
// compression queue) and used only through HTTP requests to its app, i.e. through its own write and query paths.
import { parseEnv } from '../../src/config.js';
import { buildApp } from '../../src/http/routes/index.js';
import { createNodeDeps, type NodeDeps } from '../../src/runtime/node/deps.js';
import { createApiKey } from '../../src/services/auth.js';
import type { Conversation } from './locomo.js';

export interface Product {
  deps: NodeDeps;
  app: ReturnType<typeof buildApp>;
  close(): Promise<void>;
}

export async function startProduct(): Promise<Product> {
  // Only LOG_LEVEL: nothing from the caller's environment (e.g. an LLM key) may change what is measured.
  const deps = await createNodeDeps(parseEnv({ LOG_LEVEL: 'silent' }), { inMemory: true });
  return { deps, app: buildApp(deps), close: () => deps.close() };
}

export interface ProductSession {
  key: string;
  sessionId: string;
}

async function call(product: Product, key: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
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

/**
 * A fresh tenant and session per conversation; one write per LoCoMo session, in order, each turn stamped with its
 * session's date. Both people are humans; speaker_a is written as `user` and speaker_b as `assistant` so the
 * conversation keeps its two sides, and `name` carries who spoke.
 */
export async function ingest(product: Product, conv: Conversation, ordinal: number): Promise<ProductSession> {
  const tenantId = `eval-${ordinal}-${crypto.randomUUID().slice(0, 8)}`;
  const { key } = await createApiKey(product.deps, { tenantId });
  const sessionId = safeId(`locomo-${conv.name}`);
  for (const s of conv.sessions) {
    const turns = s.turns.map((t) => ({
      role: t.speaker === conv.speakerA ? 'user' : 'assistant',
      content: t.content,
      name: t.speaker,
      external_id: t.diaId,
      created_at: t.createdAt,
    }));
    const r = await call(product, key, `/v1/sessions/${sessionId}/turns`, { turns });
    if (r.status !== 201) throw new Error(`${conv.name} session_${s.index}: write failed (${r.status}): ${JSON.stringify(r.json)}`);
    const duplicates = (r.json.turns as { duplicate: boolean }[]).filter((t) => t.duplicate).length;
    if (duplicates > 0) throw new Error(`${conv.name} session_${s.index}: ${duplicates} turns reported as duplicates`);
  }
  return { key, sessionId };
}

/** How many compactions the session went through, from its audit timeline: shows compression really ran. */
export async function compactionCount(product: Product, s: ProductSession): Promise<number> {
  const r = await call(product, s.key, `/v1/sessions/${s.sessionId}/compactions`);
  if (r.status !== 200) throw new Error(`compaction list failed (${r.status}): ${JSON.stringify(r.json)}`);
  return (r.json.compactions as unknown[]).length;
}

export interface ProductAnswer {
  text: string;
  /** Wall time of the HTTP call, including reading the JSON body. */
  ms: number;
}

/** QueryContext with the question and the budget only. */
export async function queryProduct(product: Product, s: ProductSession, query: string, budget: number): Promise<ProductAnswer> {
  const started = performance.now();
  const r = await call(product, s.key, `/v1/sessions/${s.sessionId}/context`, { query, budget_tokens: budget });
  const ms = performance.now() - started;
  if (r.status !== 200) throw new Error(`QueryContext failed (${r.status}): ${JSON.stringify(r.json)}`);
  return { text: String(r.json.rendered?.text ?? ''), ms };
}
