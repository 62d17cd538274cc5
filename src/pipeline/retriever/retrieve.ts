// The retrieve and rank steps of a query: where the session's turns are read from; structural candidates, relevant
// history (by words and by meaning) and memories read together; then relevant history in ranked order.
import type { Ctx } from '../../ports.js';
import type { QueryContextBody } from '../../schemas/context.js';
import { toTsQuery } from '../text.js';
import { historyCandidates, seedsFor } from './history.js';
import { meaningSeeds, searchText, type MeaningSeeds, type MeaningSession } from './meaning.js';
import { recallMemories } from './memories.js';
import { rankRelevant, type RankedTurn } from './relevant.js';
import { snapshotFits, snapshotTurnSource, type SnapshotSession } from './snapshot.js';
import { sqlTurnSource } from './sql-source.js';
import type { HistoryCandidates, MemoryRow, StructuralCandidates, TurnSource } from './types.js';

/** What retrieval reads of the request's session row. */
export interface QuerySession extends SnapshotSession, MeaningSession {
  user_id: string | null;
  agent_id: string | null;
  agent_groups: string[];
}

type RetrieveBody = Pick<
  QueryContextBody,
  'query' | 'budget_tokens' | 'reserve_tokens' | 'time_range' | 'recent_turns'
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
}

/** The structural candidates, relevant-history candidates and memories of a query, read at once. */
export async function retrieve(ctx: Ctx, session: QuerySession, body: RetrieveBody): Promise<Retrieved> {
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
  return { query, source, structural, history, memories, meaning };
}

/** Relevant-history candidates in ranked order (none without a query), once the seeds by meaning are in. */
export async function rankHistory(ctx: Ctx, session: QuerySession, found: Retrieved): Promise<RankedTurn[]> {
  const meant = await found.meaning;
  return found.query
    ? await rankRelevant({
        query: found.query,
        terms: found.history.terms,
        candidates: found.history.candidates,
        totalTurns: session.last_sequence,
        // A model that just failed the search is not asked again for the ranking: lexical signals only.
        embedder: meant?.failed ? undefined : ctx.embedder,
        logger: ctx.logger,
        known: meant?.vectors,
        meaningSeeds: meant && new Set(meant.seeds),
      })
    : [];
}

/** A small session's turns from this process's copy; a larger one's (or when the copy fails) from the database. */
export async function turnSource(ctx: Ctx, session: QuerySession): Promise<TurnSource> {
  if (snapshotFits(session, ctx.env.CONTEXT_SESSION_COPY_MAX_TURNS)) {
    try {
      return await snapshotTurnSource(ctx.store, ctx.tenantId, session, ctx.env.CONTEXT_SESSION_COPY_MAX_MB * 1_000_000);
    } catch (err) {
      ctx.logger.warn('session copy failed; reading the database', { error: (err as Error).message });
    }
  }
  return sqlTurnSource(ctx.store, ctx.tenantId, session.id, session);
}
