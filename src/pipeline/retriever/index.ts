// Retriever: the candidates of one query and their ranking. A map of the folder, in the order a query runs it:
//   retrieve.ts     the steps: choose the turn source, read candidates and memories at once, rank relevant history
//   types.ts        turn and memory rows, candidates, the TurnSource interface
//   sql-source.ts   the database TurnSource (term-matches.ts, candidate-rows.ts remember its reads); turn search
//   snapshot.ts     the in-process TurnSource of a small session (session-memo.ts: per-session process memory)
//   history.ts      relevant-history candidates: the query's lexemes (query-lexemes.ts), seeds by summed IDF, their
//                   neighbours
//   meaning.ts      seeds by meaning: semantic.ts (word vectors), vector-seeds.ts (sentence vectors); spelling.ts
//   user-history.ts a user's history with an agent read as one session (recall across sessions)
//   memories.ts     memory recall and which memories a session may see
//   relevant.ts     the ranking: rank.ts signals (lexemes.ts, informative.ts, temporal.ts), learned.ts, dedup.ts
export { historyCandidates, seedsFor, type HistoryOptions } from './history.js';
export { queryLexemes } from './query-lexemes.js';
export { meaningSeeds, searchText, sharedConversation, type MeaningSeeds } from './meaning.js';
export { recallMemories, visibleMemories, type MemoryOwner } from './memories.js';
export { rankRelevant, type RankedTurn, type RelevantInput } from './relevant.js';
export {
  ownTurns,
  prepareSearch,
  rankHistory,
  retrieve,
  turnSource,
  type QuerySession,
  type Retrieved,
} from './retrieve.js';
export { recalledHistory, type EarlierSessions, type HistoryScope, type UserHistory } from './user-history.js';
export { lexicalTurns, normalizeTurn, sqlTurnSource } from './sql-source.js';
export { toTsQuery } from '../text.js';
export type {
  CandidateRow,
  HistoryCandidate,
  HistoryCandidates,
  MemoryRow,
  StructuralCandidates,
  TimeRange,
  TurnRow,
  TurnSource,
} from './types.js';
