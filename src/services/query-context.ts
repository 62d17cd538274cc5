// QueryContext: plan → retrieve → pack → assemble, cached per session version. The answer always fits the budget:
// the planner packs by counted tokens and the final rendered text is counted again before it is returned.
import { defaults, querySectionShares, sectionShares, toolSectionShares } from '../config.js';
import { sha256Hex } from '../crypto.js';
import {
  dateHeader,
  escapeFence,
  frameOf,
  render,
  sectionHeader,
  sharedFences,
  type RenderFrame,
  type Template,
} from '../pipeline/assembler.js';
import { truncateHeadTail } from '../pipeline/compressor/truncate.js';
import { dropLast, plan, toolBackfillOrder, type Item } from '../pipeline/planner.js';
import {
  callsShownWithResults,
  DIGEST_PREFIX,
  digestContent,
  digestValues,
  dropUnansweredCalls,
  findingLine,
  findings,
  pairCalls,
  shrinkDigest,
  shrinkFinding,
  settleFindings,
  toolActive,
  toolShares,
} from '../pipeline/tool-findings.js';
import {
  historyCandidates,
  recallMemories,
  sharedConversation,
  sqlTurnSource,
  toTsQuery,
  type HistoryCandidates,
  type MemoryRow,
  type TurnRow,
  type TurnSource,
} from '../pipeline/retriever/index.js';
import { snapshotFits, snapshotTurnSource } from '../pipeline/retriever/snapshot.js';
import { rankRelevant } from '../pipeline/retriever/relevant.js';
import { semanticSeeds } from '../pipeline/retriever/semantic.js';
import { withSpellings } from '../pipeline/retriever/spelling.js';
import { vectorSeeds, type KnownVectors } from '../pipeline/retriever/vector-seeds.js';
import { hasWords } from '../embedder.js';
import type { Ctx } from '../ports.js';
import {
  sectionNames,
  type Envelope,
  type QueryContextBody,
  type QueryContextResponse,
  type SectionName,
} from '../schemas/context.js';
import { requireSession, sessionCacheVersion, sessionCachePrefix, type SessionRow } from './sessions.js';

interface Payload {
  content: string;
  lineFor: (content: string) => string;
  turn?: TurnRow;
  memory?: MemoryRow;
  source: string;
  /** Shortens the content to fit a number of tokens; without it the content is cut head and tail. */
  shrink?: (maxTokens: number) => string | undefined;
}

const ANCHOR_MAX_TOKENS = 80;
const REMINDER_MAX_TOKENS = 60;

export async function queryContext(
  ctx: Ctx,
  input: { sessionId: string; body: QueryContextBody },
): Promise<QueryContextResponse> {
  const { body } = input;
  const session = await requireSession(ctx, input.sessionId);
  const cacheKey = `${sessionCachePrefix(ctx.tenantId, session.id)}${sessionCacheVersion(session)}:${await sha256Hex(JSON.stringify(body))}`;
  const hit = await cacheGet<QueryContextResponse>(ctx, cacheKey);
  ctx.onStage?.('cache');
  if (hit) return { ...hit, request_id: ctx.requestId, cached: true };

  // The query as searched: with the likely spellings of words the word table does not know.
  const query = body.query && searchText(ctx, body.query);
  const tsQuery = toTsQuery(query);
  const noHistory: HistoryCandidates = { terms: [], candidates: [] };
  const source = await turnSource(ctx, session);
  const meaning = query && tsQuery ? meaningSeeds(ctx, session, { ...body, query }, source) : undefined;
  const [structural, history, memories] = await Promise.all([
    source.structural(body.recent_turns, body.time_range),
    query && tsQuery
      ? historyCandidates(source, ctx.store, query, {
          range: body.time_range,
          totalTurns: session.last_sequence,
          seeds: seedsFor(body.budget_tokens - body.reserve_tokens),
          extraSeeds: meaning?.then((m) => m.seeds),
        })
      : noHistory,
    recallMemories(ctx.store, ctx.tenantId, {
      sessionId: session.id,
      userId: session.user_id,
      agentId: session.agent_id,
      agentGroups: session.agent_groups,
    }, tsQuery),
  ]);

  ctx.onStage?.('retrieve');
  const meant = await meaning;
  const ranked = query
    ? await rankRelevant({
        query,
        terms: history.terms,
        candidates: history.candidates,
        totalTurns: session.last_sequence,
        // A model that just failed the search is not asked again for the ranking: lexical signals only.
        embedder: meant?.failed ? undefined : ctx.embedder,
        logger: ctx.logger,
        known: meant?.vectors,
        meaningSeeds: meant && new Set(meant.seeds),
      })
    : [];

  ctx.onStage?.('rank');
  const tok = ctx.tokenizer;
  const template: Template = body.template;
  // Costs are counted with the line break that follows each line, so planned tokens add up to the rendered text.
  const item = (section: SectionName, id: string, score: number, order: number, p: Payload): Item<Payload> => {
    const line = p.lineFor(p.content);
    return { id, section, line, tokens: tok.count(`${line}\n`), score, order, payload: p };
  };
  const headerCost = new Map<string, number>();
  const turnItem = (section: SectionName, t: TurnRow, score: number, duplicateOf?: string): Item<Payload> => {
    const group = dateHeader(t.created_at);
    let groupTokens = headerCost.get(group);
    if (groupTokens === undefined) headerCost.set(group, (groupTokens = tok.count(`${group}\n`)));
    const it = item(section, t.id, score, t.sequence, { content: escapeFence(t.content), lineFor: turnLine(t), turn: t, source: section });
    return { ...it, group, groupTokens, ...(duplicateOf ? { duplicateOf } : {}) };
  };

  // With a query, the query is the task: the opening turn only appears if it is relevant or recent. Without one,
  // the opening request anchors the context and is repeated at the end.
  const taskText = typeof session.metadata.task === 'string' ? session.metadata.task : undefined;
  const anchorText = taskText ?? (body.query ? undefined : structural.first?.content);
  const conversational = (t: TurnRow) => t.role === 'user' || t.role === 'assistant';
  const matchedTools = ranked.map((r) => r.candidate.turn).filter((t) => t.role === 'tool' && !structural.tool.some((r) => r.id === t.id));
  // Newest results first, then older ones that match the query; each shown with its call, summarised when long.
  const whitelist = ctx.env.CONTEXT_TOOL_FIELDS;
  const toolTurns = [...structural.tool, ...matchedTools];
  const calls = await pairCalls(toolTurns, structural.calls, (results) => source.callTurns(results));
  const tools = findings(toolTurns, calls, tok, whitelist);
  const toolStretch = toolActive(structural.recent, structural.tool);
  const digest = digestValues(tools);
  const candidates: Record<SectionName, Item<Payload>[]> = {
    task_anchor: anchorText
      ? [item('task_anchor', structural.first?.id ?? 'task', 1, 0, {
          content: escapeFence(tok.truncate(anchorText, ANCHOR_MAX_TOKENS)),
          lineFor: (c) => c,
          source: typeof session.metadata.task === 'string' ? 'session.metadata.task' : 'first user turn',
        })]
      : [],
    hard_constraints: [
      // Unfenced, so they must not open a fence either; the envelope keeps their text as written.
      ...structural.system.map((t) => item('hard_constraints', t.id, 1, t.sequence, {
        content: t.content, lineFor: (c) => `- ${escapeFence(c)}`, turn: t, source: 'system turn',
      })),
      ...memories.filter((m) => m.kind === 'constraint').map((m, i) => item('hard_constraints', m.id, m.score, 1e9 + i, {
        content: m.content, lineFor: (c) => `- ${escapeFence(c)}`, memory: m, source: `memory:${m.scope}`,
      })),
    ],
    // A turn that only made calls is shown by the findings, with each call beside its result.
    recent_turns: structural.recent
      .filter((t) => !callsShownWithResults(t, tools))
      .map((t, i) => turnItem('recent_turns', t, 1 - i / 1000)),
    relevant_history: withinReach(
      ranked.filter((r) => conversational(r.candidate.turn) && !callsShownWithResults(r.candidate.turn, tools)),
      body.budget_tokens,
    ).map((r) =>
      turnItem('relevant_history', r.candidate.turn, r.score, r.duplicateOf),
    ),
    tool_findings: [
      ...(digest.length > 0
        ? [item('tool_findings', `tool-values:${session.id}`, 1, -1, {
            content: escapeFence(digestContent(digest)), lineFor: (c) => `${DIGEST_PREFIX}${c}`, source: 'tool result values',
            shrink: (max) => { const c = shrinkDigest(digest, max, tok); return c && escapeFence(c); },
          })]
        : []),
      ...tools.map((f, i) => {
        const it = item('tool_findings', f.turn.id, 1 - (i + 1) / 1000, f.turn.sequence, {
          content: escapeFence(f.content), lineFor: findingLine(f), turn: f.turn, source: 'tool result',
          shrink: (max) => { const c = shrinkFinding(f, max, tok, whitelist); return c && escapeFence(c); },
        });
        return { ...it, ...(f.summarized ? { truncated: true } : {}), ...(f.outdatedBy ? { duplicateOf: f.outdatedBy } : {}) };
      }),
    ],
    retrieved_memory: memories.filter((m) => m.kind !== 'constraint').map((m, i) => {
      const kind = escapeFence(m.kind, true);
      return item('retrieved_memory', m.id, m.score, i, {
        content: escapeFence(m.content), lineFor: (c) => `- (${kind}) ${c}`, memory: m, source: `memory:${m.scope}`,
      });
    }),
    summary: session.summary
      ? [item('summary', `summary:${session.id}:${session.window_version ?? 0}`, 0.5, 0, {
          content: escapeFence(session.summary), lineFor: (c) => c, source: 'compaction summary',
        })]
      : [],
  };

  const budget = body.budget_tokens - body.reserve_tokens;
  // The caller sends the query itself; a reminder only restates a declared task, against long contexts burying it.
  const reminderSource = body.query ? '' : (taskText ?? '');
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
    fences: sharedFences,
    shares: weighted(
      toolStretch
        ? toolShares(toolSectionShares, candidates.tool_findings[0]?.tokens ?? 0, body.budget_tokens - body.reserve_tokens - frameTokens)
        : body.query ? querySectionShares : sectionShares,
      body.section_weights,
    ),
    ...(toolStretch ? { backfill: toolBackfillOrder } : {}),
    candidates,
    shrink: (it, maxTokens) => {
      // A retrieved turn is evidence: shown whole or not at all; a fragment would crowd out whole turns.
      if (it.section === 'relevant_history') return undefined;
      const payload = it.payload as Payload;
      const overhead = tok.count(payload.lineFor('')) + 1;
      const content = payload.shrink ? payload.shrink(maxTokens - overhead) : truncateHeadTail(payload.content, maxTokens - overhead, tok);
      if (!content) return undefined;
      const line = payload.lineFor(content);
      return { ...it, line, tokens: tok.count(line) + 1, truncated: true, payload: { ...payload, content } };
    },
  });

  const digestId = `tool-values:${session.id}`;
  settleFindings(p, budget - p.report.used_tokens, digest.length ? { id: digestId, values: digest } : undefined, (k) => {
    const turn = (k.payload as Payload).turn;
    if (!turn) return undefined;
    const whole = item('tool_findings', k.id, k.score, k.order, { ...(k.payload as Payload), content: escapeFence(turn.content) });
    return { ...whole, ...(k.duplicateOf ? { duplicateOf: k.duplicateOf } : {}) };
  });
  dropUnansweredCalls(p, tools, (k, keep) => {
    const payload = k.payload as Payload;
    const shown = { ...payload.turn!, tool_calls: payload.turn!.tool_calls!.filter((c) => keep.includes(c.id)) };
    const line = turnLine(shown)(payload.content);
    return { ...k, line, tokens: tok.count(`${line}\n`), payload: { ...payload, turn: shown, lineFor: turnLine(shown) } };
  });
  ctx.onStage?.('plan');
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
    envelope: toEnvelope(p.kept as Item<Payload>[], p.report, session, taskText ?? structural.first),
    rendered,
    token_count: tokenCount,
    cached: false,
  };
  ctx.onStage?.('assemble');
  ctx.metrics?.contextAssembled(response, p.kept as Item<Payload>[], (text) => tok.count(text));
  await cacheSet(ctx, cacheKey, response);
  return response;
}

/** Default shares with the named sections' weights put in their place, normalised to sum to one. */
function weighted(shares: Record<SectionName, number>, weights: QueryContextBody['section_weights']): Record<SectionName, number> {
  if (!weights || Object.keys(weights).length === 0) return shares;
  const merged = { ...shares, ...weights } as Record<SectionName, number>;
  const total = Object.values(merged).reduce((a, b) => a + b, 0);
  if (total <= 0) return shares;
  return Object.fromEntries(sectionNames.map((s) => [s, merged[s] / total])) as Record<SectionName, number>;
}

/** A query as it is searched: with the likely spellings of the words the bundled word table does not know. */
export const searchText = (ctx: Pick<Ctx, 'embedder'>, query: string): string =>
  hasWords(ctx.embedder) ? withSpellings(ctx.embedder.words, query) : query;

/**
 * The turns nearest the query in meaning seed the candidates too: found with the bundled word vectors, or among the
 * stored vectors of a remote embedding model (ADR 0012). An optional signal: it never rejects (a failure leaves the
 * lexical seeds alone), since it runs beside the lexical search and is awaited later.
 */
export async function meaningSeeds(
  ctx: Ctx,
  session: SessionRow,
  body: Pick<QueryContextBody, 'query' | 'budget_tokens' | 'reserve_tokens' | 'time_range'>,
  turns: Pick<TurnSource, 'conversation'>,
): Promise<{ seeds: number[]; vectors?: KnownVectors; failed?: boolean }> {
  const embedder = ctx.embedder;
  if (!body.query || !embedder) return { seeds: [] };
  const seeds = seedsFor(body.budget_tokens - body.reserve_tokens);
  // Both in-process searches below read the session's newest turns: once between them.
  const source = sharedConversation(turns);
  try {
    const nearest = (share: number) =>
      vectorSeeds({ store: ctx.store, embedder, source, session: { ...session, tenantId: ctx.tenantId }, query: body.query!, count: Math.round(seeds * share) });
    if (embedder.stored) return await nearest(defaults.vectors.seedShare);
    if (!hasWords(embedder) || body.time_range) return { seeds: [] };
    // The bundled word vectors: turns related word by word, and turns near as whole sentences.
    const [byWords, bySentence] = await Promise.all([
      semanticSeeds({ source, words: embedder.words, tenantId: ctx.tenantId, session, query: body.query, count: Math.round(seeds * defaults.semantic.seedShare) }),
      nearest(defaults.vectors.localSeedShare),
    ]);
    return { ...bySentence, seeds: [...new Set([...bySentence.seeds, ...byWords])] };
  } catch (err) {
    ctx.logger.warn('semantic seeds failed; lexical seeds only', { error: (err as Error).message });
    return { seeds: [], failed: true };
  }
}

/** A small session's turns from this process's copy; a larger one's (or when the copy fails) from the database. */
async function turnSource(ctx: Ctx, session: SessionRow): Promise<TurnSource> {
  if (snapshotFits(session, ctx.env.CONTEXT_SESSION_COPY_MAX_TURNS)) {
    try {
      return await snapshotTurnSource(ctx.store, ctx.tenantId, session, ctx.env.CONTEXT_SESSION_COPY_MAX_MB * 1_000_000);
    } catch (err) {
      ctx.logger.warn('session copy failed; reading the database', { error: (err as Error).message });
    }
  }
  return sqlTurnSource(ctx.store, ctx.tenantId, session.id, session);
}

/** Candidate seeds in proportion to what the budget can show, so small budgets read few rows. */
export function seedsFor(budget: number): number {
  const { seedsMin, seedsMax, tokensPerSeed } = defaults.history;
  return Math.min(seedsMax, Math.max(seedsMin, Math.ceil(budget / tokensPerSeed)));
}

/**
 * The best-ranked turns whose stored token counts add up to 1.5 times the budget: more than the planner can use, so the
 * lines of turns that cannot fit are never rendered and counted.
 */
function withinReach<T extends { candidate: { turn: TurnRow } }>(ranked: T[], budget: number): T[] {
  let total = 0;
  const out: T[] = [];
  for (const r of ranked) {
    if (total > 1.5 * budget) break;
    out.push(r);
    total += r.candidate.turn.token_count + 4;
  }
  return out;
}


/**
 * `speaker: content`; the date is the group header above the line, so it is not repeated per turn. The speaker and
 * the calls are escaped as one-line fields (the content is escaped by the caller).
 */
function turnLine(t: TurnRow) {
  const call = (c: { name: string; arguments: string }) =>
    `${escapeFence(c.name, true)}(${escapeFence(c.arguments, true)})`;
  const calls = t.tool_calls?.length ? ` → calls ${t.tool_calls.map(call).join(', ')}` : '';
  const speaker = escapeFence(t.name ?? t.role, true);
  return (c: string) => `${speaker}: ${c}${calls}`;
}

/**
 * The task summary is the session's declared task, or the opening user turn when it made it into the context (as
 * the anchor or as a history line).
 */
function toEnvelope(kept: Item<Payload>[], report: Envelope['budget_report'], session: SessionRow, task: string | TurnRow | undefined): Envelope {
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
    task_summary:
      of('task_anchor')[0]?.payload.content ??
      (typeof task === 'string' ? task : task && kept.some((k) => k.id === task.id) ? task.content : ''),
    hard_constraints: of('hard_constraints').map((k) => ({ id: k.id, text: k.payload.content, source: k.payload.source })),
    relevant_history: history,
    retrieved_memory: of('retrieved_memory').map((k) => ({
      id: k.id, content: k.payload.memory!.content, scope: k.payload.memory!.scope, kind: k.payload.memory!.kind, score: k.score,
    })),
    tool_findings: of('tool_findings').map((k) => ({
      id: k.id, tool_call_id: k.payload.turn?.tool_call_id ?? null, name: k.payload.turn?.name ?? null, content: contentOf(k),
      truncated: !!k.truncated,
    })),
    budget_report: report,
  };
}

async function cacheGet<T>(ctx: Ctx, key: string): Promise<T | undefined> {
  try {
    const value = await ctx.cache.get<T>(key);
    ctx.metrics?.cacheLookup(value ? 'hit' : 'miss');
    return value;
  } catch (err) {
    ctx.metrics?.cacheLookup('error');
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
