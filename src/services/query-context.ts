// QueryContext: plan → retrieve → pack → assemble, cached per session version. The answer always fits the budget:
// the planner packs by counted tokens and the final rendered text is counted again before it is returned.
import { defaults } from '../config.js';
import { sha256Hex } from '../crypto.js';
import { escapeFence, frameOf, render, sectionHeader, type RenderFrame, type Template } from '../pipeline/assembler.js';
import { truncateHeadTail } from '../pipeline/compressor/truncate.js';
import { dropLast, plan, type Item } from '../pipeline/planner.js';
import {
  lexicalTurns,
  recallMemories,
  structuralCandidates,
  toTsQuery,
  type MemoryRow,
  type TurnRow,
} from '../pipeline/retriever.js';
import type { Ctx } from '../ports.js';
import {
  sectionNames,
  type Envelope,
  type QueryContextBody,
  type QueryContextResponse,
  type SectionName,
} from '../schemas/context.js';
import { requireSession, sessionCachePrefix, type SessionRow } from './sessions.js';

interface Payload {
  content: string;
  lineFor: (content: string) => string;
  turn?: TurnRow;
  memory?: MemoryRow;
  source: string;
}

const ANCHOR_MAX_TOKENS = 80;
const REMINDER_MAX_TOKENS = 60;

export async function queryContext(
  ctx: Ctx,
  input: { sessionId: string; body: QueryContextBody },
): Promise<QueryContextResponse> {
  const { body } = input;
  const session = await requireSession(ctx, input.sessionId);
  const cacheKey = `${sessionCachePrefix(ctx.tenantId, session.id)}v${session.version}.${session.window_version ?? 0}:${await sha256Hex(JSON.stringify(body))}`;
  const hit = await cacheGet<QueryContextResponse>(ctx, cacheKey);
  if (hit) return { ...hit, request_id: ctx.requestId, cached: true };

  const tsQuery = toTsQuery(body.query);
  const [structural, lexical, memories] = await Promise.all([
    structuralCandidates(ctx.store, ctx.tenantId, session.id, body.recent_turns, body.time_range),
    tsQuery ? lexicalTurns(ctx.store, ctx.tenantId, session.id, tsQuery, { range: body.time_range }) : [],
    recallMemories(ctx.store, ctx.tenantId, {
      sessionId: session.id,
      userId: session.user_id,
      agentId: session.agent_id,
      agentGroups: session.agent_groups,
    }, tsQuery),
  ]);

  const tok = ctx.tokenizer;
  const template: Template = body.template;
  const item = (section: SectionName, id: string, score: number, order: number, p: Payload): Item<Payload> => {
    const line = p.lineFor(p.content);
    return { id, section, line, tokens: tok.count(line) + 1, score, order, payload: p };
  };
  const turnItem = (section: SectionName, t: TurnRow, score: number) =>
    item(section, t.id, score, t.sequence, { content: escapeFence(t.content), lineFor: turnLine(t), turn: t, source: section });

  const anchorText = typeof session.metadata.task === 'string' ? session.metadata.task : structural.first?.content;
  const candidates: Record<SectionName, Item<Payload>[]> = {
    task_anchor: anchorText
      ? [item('task_anchor', structural.first?.id ?? 'task', 1, 0, {
          content: escapeFence(tok.truncate(anchorText, ANCHOR_MAX_TOKENS)),
          lineFor: (c) => c,
          source: typeof session.metadata.task === 'string' ? 'session.metadata.task' : 'first user turn',
        })]
      : [],
    hard_constraints: [
      ...structural.system.map((t) => item('hard_constraints', t.id, 1, t.sequence, {
        content: t.content, lineFor: (c) => `- ${c}`, turn: t, source: 'system turn',
      })),
      ...memories.filter((m) => m.kind === 'constraint').map((m, i) => item('hard_constraints', m.id, m.score, 1e9 + i, {
        content: m.content, lineFor: (c) => `- ${c}`, memory: m, source: `memory:${m.scope}`,
      })),
    ],
    recent_turns: structural.recent.map((t, i) => turnItem('recent_turns', t, 1 - i / 1000)),
    relevant_history: lexical.filter((t) => t.role === 'user' || t.role === 'assistant').map((t) => turnItem('relevant_history', t, t.score)),
    // Newest tool results first, then older ones that match the query.
    tool_findings: [...structural.tool, ...lexical.filter((t) => t.role === 'tool' && !structural.tool.some((r) => r.id === t.id))].map(
      (t, i) => item('tool_findings', t.id, 1 - i / 1000, t.sequence, {
        content: escapeFence(t.content), lineFor: toolLine(t), turn: t, source: 'tool result',
      }),
    ),
    retrieved_memory: memories.filter((m) => m.kind !== 'constraint').map((m, i) => item('retrieved_memory', m.id, m.score, i, {
      content: escapeFence(m.content), lineFor: (c) => `- (${m.kind}) ${c}`, memory: m, source: `memory:${m.scope}`,
    })),
    summary: session.summary
      ? [item('summary', `summary:${session.id}:${session.window_version ?? 0}`, 0.5, 0, {
          content: escapeFence(session.summary), lineFor: (c) => c, source: 'compaction summary',
        })]
      : [],
  };

  const budget = body.budget_tokens - body.reserve_tokens;
  const reminderSource = body.query ?? anchorText ?? '';
  let frame: RenderFrame = frameOf(template, reminderSource ? tok.truncate(reminderSource, REMINDER_MAX_TOKENS) : '');
  let frameTokens = tok.count(`${frame.preamble}\n${frame.reminder}`) + 1;
  if (frameTokens > budget / 2) {
    // A tiny budget: spend it on content, not on the preamble.
    frame = { preamble: '', reminder: '' };
    frameTokens = 0;
  }
  const headerTokens = Object.fromEntries(
    sectionNames.map((s) => [s, tok.count(sectionHeader(template, s))]),
  ) as Record<SectionName, number>;

  const p = plan({
    budget: body.budget_tokens,
    reserve: body.reserve_tokens,
    frameTokens,
    headerTokens,
    candidates,
    shrink: (it, maxTokens) => {
      const payload = it.payload as Payload;
      const overhead = tok.count(payload.lineFor('')) + 1;
      const content = truncateHeadTail(payload.content, maxTokens - overhead, tok);
      if (!content) return undefined;
      const line = payload.lineFor(content);
      return { ...it, line, tokens: tok.count(line) + 1, truncated: true };
    },
  });

  let rendered = render(template, p.kept, frame);
  let tokenCount = tok.count(rendered.text);
  while (tokenCount > budget && dropLast(p)) {
    rendered = render(template, p.kept, frame);
    tokenCount = tok.count(rendered.text);
  }
  if (tokenCount > budget) {
    // Only the frame is left and it does not fit: cut it on a token boundary.
    const text = tok.truncate(rendered.text, budget);
    rendered = { text, messages: [{ role: 'system', content: text }] };
    tokenCount = tok.count(text);
  }
  p.report.used_tokens = tokenCount;

  const response: QueryContextResponse = {
    session_id: session.id,
    request_id: ctx.requestId,
    session_version: session.version,
    envelope: toEnvelope(p.kept as Item<Payload>[], p.report, session),
    rendered,
    token_count: tokenCount,
    cached: false,
  };
  await cacheSet(ctx, cacheKey, response);
  return response;
}

const stamp = (iso: string) => iso.slice(0, 16).replace('T', ' ');

function turnLine(t: TurnRow) {
  const calls = t.tool_calls?.length ? ` → calls ${t.tool_calls.map((c) => `${c.name}(${c.arguments})`).join(', ')}` : '';
  return (c: string) => `[${stamp(t.created_at)}] ${t.name ?? t.role}: ${c}${calls}`;
}

function toolLine(t: TurnRow) {
  return (c: string) => `[${stamp(t.created_at)}] ${t.name ?? 'tool'} result (call ${t.tool_call_id ?? '?'}): ${c}`;
}

function toEnvelope(kept: Item<Payload>[], report: Envelope['budget_report'], session: SessionRow): Envelope {
  const of = (s: SectionName) => kept.filter((k) => k.section === s).sort((a, b) => a.order - b.order);
  const contentOf = (k: Item<Payload>) => (k.truncated ? k.line : k.payload.turn?.content ?? k.payload.memory?.content ?? k.payload.content);
  const history = [
    ...of('summary').map((k) => ({
      id: k.id, source: 'summary' as const, sequence: null, role: 'summary', name: null,
      content: session.summary ?? '', created_at: session.updated_at, score: k.score, truncated: !!k.truncated,
    })),
    ...[...of('relevant_history'), ...of('recent_turns')]
      .sort((a, b) => a.order - b.order)
      .map((k) => ({
        id: k.id,
        source: k.section === 'recent_turns' ? ('recent' as const) : ('retrieved' as const),
        sequence: k.payload.turn!.sequence,
        role: k.payload.turn!.role,
        name: k.payload.turn!.name,
        content: contentOf(k),
        created_at: k.payload.turn!.created_at,
        score: k.score,
        truncated: !!k.truncated,
      })),
  ];
  return {
    task_summary: of('task_anchor')[0]?.payload.content ?? '',
    hard_constraints: of('hard_constraints').map((k) => ({ id: k.id, text: k.payload.content, source: k.payload.source })),
    relevant_history: history,
    retrieved_memory: of('retrieved_memory').map((k) => ({
      id: k.id, content: k.payload.memory!.content, scope: k.payload.memory!.scope, kind: k.payload.memory!.kind, score: k.score,
    })),
    tool_findings: of('tool_findings').map((k) => ({
      id: k.id, tool_call_id: k.payload.turn!.tool_call_id, name: k.payload.turn!.name, content: contentOf(k), truncated: !!k.truncated,
    })),
    budget_report: report,
  };
}

async function cacheGet<T>(ctx: Ctx, key: string): Promise<T | undefined> {
  try {
    return await ctx.cache.get<T>(key);
  } catch (err) {
    ctx.logger.warn('cache read failed; serving from the database', { error: (err as Error).message });
    return undefined;
  }
}

async function cacheSet(ctx: Ctx, key: string, value: unknown) {
  try {
    await ctx.cache.set(key, value, defaults.contextCacheTtlSeconds);
  } catch (err) {
    ctx.logger.warn('cache write failed', { error: (err as Error).message });
  }
}
