// The retrieve and rank steps of a query: where the session's turns are read from; structural candidates, relevant
// history (by words and by meaning) and memories read together; then relevant history in ranked order.
import type { Ctx } from '../../ports.js';
import type { QueryContextBody } from '../../schemas/context.js';
import { toTsQuery } from '../text.js';
import { historyCandidates, seedsFor } from './history.js';
import { meaningSeeds, prepareMeaning, searchText, type MeaningSeeds, type MeaningSession } from './meaning.js';
import { recallMemories } from './memories.js';
import { rankRelevant, type RankedTurn } from './relevant.js';
import { copyBound, snapshotTurnSource, type SnapshotSession } from './snapshot.js';
import { sqlTurnSource } from './sql-source.js';
import type {
  HistoryCandidates,
  HistorySource,
  MemoryRow,
  StructuralCandidates,
  TurnRow,
  TurnSource,
} from './types.js';
import {
  earlierSessions,
  historySession,
  historySource,
  recalledHistory,
  type EarlierSessions,
  type HistoryOwner,
  type HistoryScope,
} from './user-history.js';

/** What retrieval reads of the request's session row. */
export interface QuerySession extends SnapshotSession, MeaningSession, HistoryOwner {
  user_id: string | null;
  agent_id: string | null;
  agent_groups: string[];
  /** False when no memory is visible to the session (read with its row): recall is skipped. */
  memories?: boolean;
}

type RetrieveBody = Pick<
  QueryContextBody,
  'query' | 'budget_tokens' | 'reserve_tokens' | 'time_range' | 'recent_turns' | 'history_scope'
>;

export interface Retrieved {
  /** The query as searched (see `searchText`). */
  query: string | undefined;
  source: TurnSource;
  structural: StructuralCandidates;
  history: HistoryCandidates;
  memories: MemoryRow[];
  /** Seeds by meaning, still running beside the lexical reads when they are done; the ranking awaits them. */
  meaning: Promise<MeaningSeeds> | undefined;
  /** Turns in what relevant history was searched in: the session, or its user's history. */
  searched: number;
  /** The constraints and tasks of the user's other sessions, when the query recalls the user's history. */
  past: EarlierSessions | undefined;
}

/**
 * The structural candidates, relevant-history candidates and memories of a query, read at once. `query`: the query
 * as searched, with the likely spellings of words the word table does not know (`searchText`; the caller's, if given).
 */
export async function retrieve(
  ctx: Ctx,
  session: QuerySession,
  body: RetrieveBody,
  query = body.query && searchText(ctx, body.query),
): Promise<Retrieved> {
  const tsQuery = toTsQuery(query);
  const noHistory: HistoryCandidates = { terms: [], candidates: [] };
  const { own: source, history, searched } = await sourcesOf(ctx, session, body.history_scope);
  const meaning = query && tsQuery ? meaningSeeds(ctx, searched.as, { ...body, query }, searched.source) : undefined;
  const structural = source.structural(body.recent_turns, body.time_range);
  const [own, candidates, memories, past] = await Promise.all([
    structural,
    query && tsQuery
      ? historyCandidates(searched.source, ctx.store, query, {
          range: body.time_range,
          totalTurns: searched.as.last_sequence,
          seeds: seedsFor(body.budget_tokens - body.reserve_tokens),
          extraSeeds: meaning?.then((m) => m.seeds),
        })
      : noHistory,
    session.memories === false
      ? []
      : recallMemories(
          ctx.store,
          ctx.tenantId,
          {
            sessionId: session.id,
            userId: session.user_id,
            agentId: session.agent_id,
            agentGroups: session.agent_groups,
          },
          tsQuery,
        ),
    history && structural.then((s) => earlierSessions(ctx, session, history, s.system)),
  ]);
  // The turn that asks the query is no evidence for it, and as the best match of every term it would set the scale
  // every other candidate's scores are taken relative to.
  const asking = askingTurn(own, body.query);
  const relevant = asking
    ? { ...candidates, candidates: candidates.candidates.filter((c) => c.id !== asking.id) }
    : candidates;
  const turns = searched.as.last_sequence;
  return { query, source, structural: own, history: relevant, memories, meaning, past, searched: turns };
}

/**
 * Brings what this process holds for searching the session (its copy, word index and sentence vectors, or those of
 * its user's history when its queries recall it) up to date with its newest turns, as its next query would: after a
 * burst of writes, that query then reads them instead of building them. Only where a query searched before (a
 * session written and never searched here is not prepared): undefined then; else the session's own turn source and
 * the one its relevant history is searched in (the same, or its user's history).
 */
export async function prepareSearch(
  ctx: Ctx,
  session: QuerySession,
): Promise<{ own: TurnSource; searched: Pick<TurnSource, 'heldTurns'> } | undefined> {
  const { own, searched } = await sourcesOf(ctx, session, undefined);
  if (!(await prepareMeaning(ctx, searched.as, searched.source))) return undefined;
  return { own, searched: searched.source };
}

/**
 * Where a query of the session reads its own turns, and where its relevant history is searched: the user's history
 * (every session of the user with this agent, the session's own turns among them) when the query recalls it, else the
 * session itself.
 */
async function sourcesOf(ctx: Ctx, session: QuerySession, scope: HistoryScope | undefined) {
  const recalled = recalledHistory(session, scope);
  const [own, history] = await Promise.all([turnSource(ctx, session), recalled && historySource(ctx, recalled)]);
  const searched: { source: HistorySource | TurnSource; as: MeaningSession } =
    recalled && history ? { source: history, as: historySession(recalled) } : { source: own, as: session };
  return { own, history, searched };
}

/** The session's newest turn when it is the query itself: a user's message the caller asks the context for. */
export function askingTurn(structural: StructuralCandidates, query: string | undefined): TurnRow | undefined {
  const t = structural.recent[0];
  return t && query !== undefined && t.role === 'user' && t.content.trim() === query.trim() ? t : undefined;
}

/** The ranked turns of the session itself (the others are its user's other sessions'). */
export const ownTurns = (ranked: readonly RankedTurn[], sessionId: string): RankedTurn[] =>
  ranked.filter((r) => r.candidate.turn.session_id === undefined || r.candidate.turn.session_id === sessionId);

/**
 * Relevant-history candidates in ranked order (none without a query), once the seeds by meaning are in; near-duplicates
 * marked within reach of `budgetTokens` (all of the first ones compared, without it).
 */
export async function rankHistory(ctx: Ctx, found: Retrieved, budgetTokens?: number): Promise<RankedTurn[]> {
  const meant = await found.meaning;
  return found.query
    ? await rankRelevant({
        query: found.query,
        terms: found.history.terms,
        candidates: found.history.candidates,
        totalTurns: found.searched,
        // A model that just failed the search is not asked again for the ranking: lexical signals only.
        embedder: meant?.failed ? undefined : ctx.embedder,
        logger: ctx.logger,
        known: meant?.vectors,
        meaningSeeds: meant && new Set(meant.seeds),
        budgetTokens,
      })
    : [];
}

/** A small session's turns from this process's copy; a larger one's (or when the copy fails) from the database. */
export async function turnSource(ctx: Ctx, session: QuerySession): Promise<TurnSource> {
  const maxBytes = copyBound(ctx.env, ctx.tenantId, { kind: 'session', id: session.id }, session);
  if (maxBytes !== undefined) {
    try {
      return await snapshotTurnSource(ctx.store, ctx.tenantId, session, maxBytes);
    } catch (err) {
      ctx.logger.warn('session copy failed; reading the database', { error: (err as Error).message });
    }
  }
  return sqlTurnSource(ctx.store, ctx.tenantId, session.id, session);
}
