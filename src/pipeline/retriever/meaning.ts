// Meaning seeds: the turns nearest the query in meaning (bundled word vectors or stored vectors of a remote model)
// seed the history candidates beside the lexical ones; the query is searched with its likely spellings.
import { defaults } from '../../config/tuning.js';
import { hasWords } from '../../embedder.js';
import type { Ctx } from '../../ports.js';
import type { QueryContextBody } from '../../schemas/context.js';
import { seedsFor } from './history.js';
import { prepareWords, semanticSeeds } from './semantic.js';
import { withSpellings } from './spelling.js';
import type { TurnSource } from './types.js';
import { prepareVectors, vectorSeeds, type KnownVectors } from './vector-seeds.js';

/** Seeds by meaning, the vectors the search already has, and whether the embedding model failed. */
export interface MeaningSeeds {
  seeds: number[];
  vectors?: KnownVectors;
  failed?: boolean;
}

/** The session as the meaning searches read it. */
export interface MeaningSession {
  id: string;
  created_at: string;
  last_sequence: number;
  /** Set when this is a user's history read as one session (./user-history.ts): its id. */
  history_id?: string;
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
  session: MeaningSession,
  body: Pick<QueryContextBody, 'query' | 'budget_tokens' | 'reserve_tokens' | 'time_range'>,
  turns: Pick<TurnSource, 'conversation'>,
): Promise<MeaningSeeds> {
  const embedder = ctx.embedder;
  if (!body.query || !embedder) return { seeds: [] };
  const seeds = seedsFor(body.budget_tokens - body.reserve_tokens);
  // Both in-process searches below read the session's newest turns: once between them.
  const source = sharedConversation(turns);
  try {
    const nearest = (share: number) =>
      vectorSeeds({
        store: ctx.store,
        embedder,
        source,
        session: { ...session, tenantId: ctx.tenantId },
        query: body.query!,
        count: Math.round(seeds * share),
      });
    if (embedder.stored) return await nearest(defaults.vectors.seedShare);
    if (!hasWords(embedder) || body.time_range) return { seeds: [] };
    // The bundled word vectors: turns related word by word, and turns near as whole sentences.
    const [byWords, bySentence] = await Promise.all([
      semanticSeeds({
        source,
        words: embedder.words,
        tenantId: ctx.tenantId,
        session,
        query: body.query,
        count: Math.round(seeds * defaults.semantic.seedShare),
      }),
      nearest(defaults.vectors.localSeedShare),
    ]);
    return { ...bySentence, seeds: [...new Set([...bySentence.seeds, ...byWords])] };
  } catch (err) {
    ctx.logger.warn('semantic seeds failed; lexical seeds only', { error: (err as Error).message });
    return { seeds: [], failed: true };
  }
}

/**
 * Brings what the searches above hold of the session (its word index and sentence vectors) up to date with its
 * newest turns, so the next query reads them instead of building them; only what a query built before (a session
 * written and never searched here gets nothing). Whether anything was held. Throws what the embedding model throws.
 */
export async function prepareMeaning(
  ctx: Ctx,
  session: MeaningSession,
  turns: Pick<TurnSource, 'conversation'>,
): Promise<boolean> {
  const embedder = ctx.embedder;
  if (!embedder) return false;
  const source = sharedConversation(turns);
  const held = { store: ctx.store, embedder, source, session: { ...session, tenantId: ctx.tenantId } };
  if (embedder.stored) return prepareVectors(held);
  if (!hasWords(embedder)) return false;
  const words = { source, words: embedder.words, tenantId: ctx.tenantId, session };
  const [byWords, bySentence] = await Promise.all([prepareWords(words), prepareVectors(held)]);
  return byWords || bySentence;
}

/**
 * A source whose conversation reads are shared within one query: the word index and the sentence vectors bring
 * themselves up to date at once, usually from the same point, so the first read also answers a later call from any
 * point past its own.
 */
export function sharedConversation(source: Pick<TurnSource, 'conversation'>): Pick<TurnSource, 'conversation'> {
  let first: { after: number; rows: ReturnType<TurnSource['conversation']> } | undefined;
  return {
    conversation(after) {
      if (first && after >= first.after) return first.rows.then((rows) => rows.filter((r) => r.sequence > after));
      const rows = source.conversation(after);
      first ??= { after, rows };
      return rows;
    },
  };
}
