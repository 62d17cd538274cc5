// A question's relevant-history retrieval retraced with the product's own functions, as QueryContext runs it, for
// eval:diagnose and eval:train: the searched text, the seeds by meaning and the candidates it does not return.
import {
  historyCandidates,
  meaningSeeds,
  searchText,
  seedsFor,
  sqlTurnSource,
  type RelevantInput,
} from '../../src/pipeline/retriever/index.js';
import { requireSession } from '../../src/services/sessions.js';
import type { Product } from './product.js';

/**
 * A written session, ready for retracing its questions: each answer is the ranking's input, so rankRelevant(input) is
 * QueryContext's order and relevantFacts(input) the learned ranker's view of the candidates.
 */
export async function retraceable(product: Product, tenantId: string, sessionId: string) {
  const ctx = { ...product.deps, tenantId, requestId: 'retrace' };
  const session = await requireSession(ctx, sessionId);
  const source = sqlTurnSource(product.deps.store, tenantId, sessionId);
  const totalTurns = Number(session.last_sequence);
  return async (question: string, budget: number): Promise<RelevantInput> => {
    const query = searchText(ctx, question);
    const meaning = await meaningSeeds(ctx, session, { query, budget_tokens: budget, reserve_tokens: 0 }, source);
    const history = await historyCandidates(source, product.deps.store, query, {
      totalTurns,
      seeds: seedsFor(budget),
      extraSeeds: meaning.seeds,
    });
    return {
      query,
      terms: history.terms,
      candidates: history.candidates,
      totalTurns,
      embedder: product.deps.embedder,
      known: meaning.vectors,
      meaningSeeds: new Set(meaning.seeds),
    };
  };
}
