// Imports a JSON or JSON Lines conversation into a session through the typed client, in batches whose idempotency
// keys make a rerun store nothing twice. Usage and accepted formats: docs/api.md#examples.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ContextApiError, ContextClient, type WriteTurnsRequest } from '../src/client/index.js';

export type Turn = WriteTurnsRequest['turns'][number];

const ROLES = new Set(['user', 'assistant', 'tool', 'system']);
const MAX_BATCH = 500;

interface ChatMessage {
  role?: string;
  content?: unknown;
  name?: string;
  tool_call_id?: string;
  tool_calls?: { id: string; name?: string; arguments?: unknown; function?: { name: string; arguments?: unknown } }[];
  external_id?: string;
  created_at?: string;
  importance?: number;
  metadata?: Record<string, unknown>;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (content == null) return '';
  if (Array.isArray(content))
    return content
      .map((p) => (typeof p === 'string' ? p : typeof p?.text === 'string' ? p.text : ''))
      .filter(Boolean)
      .join('\n');
  return JSON.stringify(content);
}

/** One message in either shape → one turn in the API's shape; fields the API does not know are left out. */
export function toTurn(m: ChatMessage, where: string): Turn {
  const role = m.role === 'developer' ? 'system' : m.role;
  if (!role || !ROLES.has(role))
    throw new Error(`${where}: role must be one of user, assistant, tool, system (got ${JSON.stringify(m.role)})`);
  const turn: Turn = { role: role as Turn['role'], content: textOf(m.content) };
  if (m.name) turn.name = m.name;
  if (m.tool_call_id) turn.tool_call_id = m.tool_call_id;
  if (m.external_id) turn.external_id = m.external_id;
  if (m.created_at) turn.created_at = m.created_at;
  if (typeof m.importance === 'number') turn.importance = m.importance;
  if (m.metadata) turn.metadata = m.metadata;
  if (m.tool_calls?.length)
    turn.tool_calls = m.tool_calls.map((c) => ({
      id: c.id,
      name: c.function?.name ?? c.name ?? 'unknown',
      arguments: (c.function?.arguments ?? c.arguments ?? '{}') as string | Record<string, unknown>,
    }));
  return turn;
}

/** Parses JSON or JSON Lines; errors name the line. */
export function parseConversation(text: string, source = 'input'): Turn[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  let whole: unknown;
  try {
    whole = JSON.parse(trimmed);
  } catch {
    whole = undefined;
  }
  if (whole !== undefined && (Array.isArray(whole) || !('role' in (whole as object)))) {
    const list = Array.isArray(whole)
      ? whole
      : ((whole as { messages?: unknown[]; turns?: unknown[] }).messages ?? (whole as { turns?: unknown[] }).turns);
    if (!Array.isArray(list))
      throw new Error(`${source}: expected an array of messages, or an object with "messages" or "turns"`);
    return list.map((m, i) => toTurn(m as ChatMessage, `${source}: message ${i + 1}`));
  }
  return text.split(/\r?\n/).flatMap((line, i) => {
    if (!line.trim()) return [];
    let m: ChatMessage;
    try {
      m = JSON.parse(line);
    } catch (err) {
      throw new Error(`${source}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    return [toTurn(m, `${source}:${i + 1}`)];
  });
}

export function batchKey(sessionId: string, index: number, batch: Turn[]): string {
  return `import-${createHash('sha256')
    .update(JSON.stringify([sessionId, index, batch]))
    .digest('hex')
    .slice(0, 40)}`;
}

export interface ImportProgress {
  batch: number;
  batches: number;
  sent: number;
  total: number;
  replayed: boolean;
}

export interface ImportResult {
  session_id: string;
  turns: number;
  stored: number;
  duplicates: number;
  replayed_batches: number;
}

const retryable = (err: unknown) => !(err instanceof ContextApiError) || err.status === 429 || err.status >= 500;

export async function importConversation(opts: {
  client: ContextClient;
  sessionId: string;
  turns: Turn[];
  batchSize?: number;
  userId?: string;
  agentId?: string;
  onProgress?: (p: ImportProgress) => void;
  retries?: number;
}): Promise<ImportResult> {
  const size = Math.max(1, Math.min(MAX_BATCH, opts.batchSize ?? 100));
  const batches = Math.ceil(opts.turns.length / size);
  const result: ImportResult = {
    session_id: opts.sessionId,
    turns: opts.turns.length,
    stored: 0,
    duplicates: 0,
    replayed_batches: 0,
  };
  for (let b = 0; b < batches; b++) {
    const batch = opts.turns.slice(b * size, (b + 1) * size);
    const body: WriteTurnsRequest = {
      turns: batch,
      ...(opts.userId ? { user_id: opts.userId } : {}),
      ...(opts.agentId ? { agent_id: opts.agentId } : {}),
    };
    const key = batchKey(opts.sessionId, b, batch);
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await opts.client.writeTurns(opts.sessionId, body, { idempotencyKey: key });
        const duplicates = out.turns.filter((t) => t.duplicate).length;
        result.duplicates += duplicates;
        result.stored += out.replayed ? 0 : out.turns.length - duplicates;
        if (out.replayed) result.replayed_batches += 1;
        opts.onProgress?.({
          batch: b + 1,
          batches,
          sent: Math.min(opts.turns.length, (b + 1) * size),
          total: opts.turns.length,
          replayed: out.replayed,
        });
        break;
      } catch (err) {
        // The same Idempotency-Key makes a retry safe even if the first attempt was stored.
        if (attempt >= (opts.retries ?? 4) || !retryable(err)) throw err;
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
    }
  }
  return result;
}

function localKey(): string | undefined {
  const file = path.join(process.env.DATA_DIR ?? '.data', 'api-key');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      session: { type: 'string', short: 's' },
      url: { type: 'string' },
      key: { type: 'string' },
      'batch-size': { type: 'string', default: '100' },
      'user-id': { type: 'string' },
      'agent-id': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const file = positionals[0];
  if (values.help || !file || !values.session) {
    console.error(
      'usage: import-conversation <file.json|file.jsonl> --session <id> [--batch-size N] [--user-id ID] [--agent-id ID] [--url URL] [--key KEY]',
    );
    process.exit(values.help ? 0 : 2);
  }
  const apiKey = values.key ?? process.env.CONTEXT_API_KEY ?? localKey();
  if (!apiKey)
    throw new Error('no API key: pass --key, set CONTEXT_API_KEY, or run `npm start` once to create .data/api-key');
  const client = new ContextClient({
    baseUrl: values.url ?? process.env.CONTEXT_URL ?? 'http://127.0.0.1:8787',
    apiKey,
  });
  const turns = parseConversation(readFileSync(file, 'utf8'), path.basename(file));

  const tty = process.stderr.isTTY;
  const result = await importConversation({
    client,
    sessionId: values.session,
    turns,
    batchSize: Number(values['batch-size']),
    userId: values['user-id'],
    agentId: values['agent-id'],
    onProgress: (p) => {
      const line = `imported ${p.sent}/${p.total} turns (batch ${p.batch}/${p.batches}${p.replayed ? ', already stored' : ''})`;
      process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    },
  });
  if (tty) process.stderr.write('\n');
  console.log(JSON.stringify(result));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    const e = err as Error & Partial<ContextApiError>;
    console.error(
      `import failed: ${e.code ? `${e.code}: ` : ''}${e.message}${e.requestId ? ` (request ${e.requestId})` : ''}`,
    );
    process.exit(1);
  });
}
