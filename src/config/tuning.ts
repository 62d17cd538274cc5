// Tuning: request limits, defaults of the query and background paths, and section shares, each with its reason.
/** Request limits: generous for real agents, small enough that one request cannot exhaust the service. */
export const limits = {
  bodyBytes: 2 * 1024 * 1024,
  turnsPerBatch: 500,
  contentChars: 200_000,
  budgetTokensMax: 200_000,
  idLength: 128,
  searchResultsMax: 100,
  pageSizeMax: 200,
  pageSizeDefault: 50,
  /**
   * Task flows per agent, model calls per flow and the budget of one model call's recipe. Every write to a session
   * of the agent may assemble these contexts in the background (within `defaults.precompute`), so they are bounded
   * at registration; a live query may still ask for up to `budgetTokensMax`.
   */
  flowsPerAgent: 10,
  modelCallsPerFlow: 20,
  modelCallBudgetTokens: 128_000,
} as const;

export const defaults = {
  /** A window compresses its oldest turns once the unsummarised part passes this many tokens. */
  windowMaxTokens: 8_000,
  /** After compression this share of the window stays verbatim (the newest turns). */
  keepRecentShare: 0.5,
  compressionStrategy: 'summarize' as const,
  /** Longest summary a compaction may produce. */
  summaryMaxTokens: 600,
  /** How long an assembled context stays cached; versioned keys make staleness impossible, TTL only bounds memory. */
  contextCacheTtlSeconds: 300,
  /**
   * Budget of the default context a background job assembles after each write (`{ "budget_tokens": 2000 }` and
   * nothing else), so that request is a cache hit. About what a chat model call leaves for context once the
   * system prompt and the answer are set aside; other budgets are assembled on demand as before.
   */
  precomputeBudgetTokens: 2_000,
  /**
   * Node's in-process queue holds a session's precompute until writes to it pause this long (and at most
   * `precomputeMaxWaitMs` after the first write it covers): a conversation writes in bursts, and a context assembled
   * between two writes of a burst is superseded before anyone reads it. One precompute per burst, not per write.
   */
  precomputeQuietMs: 500,
  /**
   * Work one precompute job does for an agent's model calls. Calls are taken in plan order (flows by id, calls in
   * their flow's order), at most `maxModelCalls` of them; a call whose budget would take the sum of their budgets past
   * `maxBudgetTokens` is skipped (a later, smaller one may still fit). Skipped calls are assembled live when asked
   * for. One write then costs a bounded amount of CPU and cache memory whatever the agent declared.
   */
  precompute: {
    maxModelCalls: 20,
    maxBudgetTokens: 256_000,
  },
  precomputeMaxWaitMs: 5_000,
  /**
   * Threshold compactions are held the same way (a compaction folds everything past the limit, so one per burst
   * does the work of one per write), but no longer than this: the unsummarised part overshoots its limit by at most
   * this much time's writes.
   */
  compactionMaxWaitMs: 2_000,
  /** How often the Node process re-queues compression that a lost enqueue left behind (Workers use the cron). */
  maintenanceIntervalMs: 60_000,
  /**
   * How often the Node process checks planner statistics (ANALYZE only for tables changed by a tenth since the last
   * one; the check is one small statement). The embedded database never autovacuums, and a session growing fast
   * while the statistics still call it rare gets plans that read all of it on every write.
   */
  statisticsIntervalMs: 5_000,
  /** Tool findings: how many of the newest tool results (and calls) a query reads, summarises and digests. */
  toolFindings: {
    results: 40,
    /** Newest results of a held session whose shown form a precompute works out ahead of the queries. */
    prepared: 2_000,
  },
  /** Results of the plain turn search (`lexicalTurns`) when its caller names no limit. */
  lexicalCandidates: 60,
  /**
   * Relevant-history retrieval: full-text search bounds the candidates, the in-process ranker orders them. A few
   * hundred candidates cover what a 4k-token budget can hold several times over, while a query still reads only a
   * few hundred small rows.
   */
  history: {
    /** Query lexemes searched (the most repeated, then the latest, for long queries). */
    maxQueryTerms: 16,
    /** Matches read per term, newest first; also the cap on a term's document frequency. */
    matchesPerTerm: 500,
    /**
     * Hits with the highest summed IDF kept as seeds: one per `tokensPerSeed` of budget, within these bounds. With
     * their neighbours and the seeds by meaning that is about five candidate turns per turn the budget can hold: the
     * learned ranker (ADR 0014) tells them apart, and more of the turns that answer are among them.
     */
    seedsMin: 40,
    seedsMax: 200,
    tokensPerSeed: 20,
    /** Turns fetched on each side of a seed: answers follow questions, context surrounds mentions. */
    neighbourRadius: 2,
    /** Stems at least this long also match the longer stems they prefix. */
    prefixMinLength: 4,
    /** Cosine at which two candidate turns count as near-duplicates and only the better-ranked one is kept. */
    duplicateCosine: 0.92,
    /** Candidates without a vector at hand embedded per query (the best-scored), and compared for near-duplicates. */
    embedTop: 200,
    /**
     * When a query asks about the present ("now", "currently"), a candidate of a user's earliest session among the
     * candidates weighs e^−3 (about 5 %) of one of the latest: what was said last is what holds now.
     */
    presentRecency: 3,
  },
  /**
   * Full-text matches of query terms remembered per session read from the database (retriever/term-matches.ts):
   * at most this many terms and sequences per process (~8 bytes a sequence), least recently used dropped first.
   */
  termMatches: {
    maxTerms: 20_000,
    maxSequences: 2_000_000,
  },
  /** Candidate rows remembered per process for sessions read from the database (retriever/candidate-rows.ts). */
  candidateRows: {
    maxBytes: 32_000_000,
  },
  /**
   * Small sessions are read from an in-process copy of their turns (pipeline/retriever/snapshot.ts), brought up to
   * date with one read of the turns written since: a query then costs no round trip for its turns. Larger sessions
   * are searched in the database, with its indexes.
   */
  snapshot: {
    /** Largest session (in stored tokens) copied; the turn limit is CONTEXT_SESSION_COPY_MAX_TURNS. */
    maxTokens: 1_000_000,
    /**
     * Sessions whose copy this process keeps, least recently queried dropped first; their memory is bounded by
     * CONTEXT_SESSION_COPY_MAX_MB.
     */
    sessionsKept: 256,
    /**
     * A session not yet copied is copied only when it fits beside the copies read in this time (snapshotAdmits);
     * else it is read from the database.
     */
    idleMs: 60_000,
  },
  /**
   * Turn vectors (ADR 0012): stored for a remote embedding model (services/turn-vectors.ts) or computed for the bundled
   * word vectors, and searched per session (pipeline/retriever/vector-seeds.ts).
   */
  vectors: {
    /** Newest turns of a session embedded and searched by meaning. */
    window: 5_000,
    /** Turns sent to the model per request. */
    batch: 64,
    /** Turns one background job embeds before it queues the next. */
    perJob: 1_024,
    /** Vectors held in this process (estimated bytes), least recently queried sessions dropped first. */
    maxBytes: 64_000_000,
    /** Seeds per query: this share of the lexical seed count. */
    seedShare: 0.5,
    /** With the bundled word vectors (beside their word-level seeds): this share of the lexical seed count. */
    localSeedShare: 0.5,
    /**
     * With the bundled word vectors, a turn's closeness to the query for the sentence-vector seeds is its cosine plus
     * this share of its informativeness (pipeline/retriever/informative.ts; ADR 0013): word-vector sentence means
     * relate a question to many of its subject's turns about equally, and the ones that recount something answer. The
     * learned ranker weighs informativeness on its own.
     */
    localInformative: 0.2,
  },
  /** Learned memories (services/learn-memories.ts). */
  learn: {
    /** Turns read and decided on at once: one model call, one statement. */
    batch: 40,
    /** Turns one job reads before it queues the next. */
    perJob: 400,
    /** A learned turn's text longer than this is not a memory: long turns recount, they do not state a fact. */
    maxStatementChars: 400,
    /** Current memories of the user compared with a batch: the newest, and those holding the batch's words. */
    compareNewest: 40,
    compareMatching: 40,
    /** Importance of a learned memory by kind: constraints first when there is no query to rank by. */
    importance: { constraint: 0.8, preference: 0.6, task: 0.6, fact: 0.5 } as Record<string, number>,
    /** Word overlap (Jaccard) at which a statement repeats a current memory and is not added again. */
    duplicateOverlap: 0.8,
  },
  /** Semantic seeds from an in-process embedder (see pipeline/retriever/semantic.ts). */
  semantic: {
    /** Newest turns of a session searched by meaning. */
    window: 5_000,
    /** Cosine from which two words count as related. */
    threshold: 0.55,
    /** Related words (the closest) a query word is expanded to. */
    relatedPerWord: 40,
    /** Frequency rank from which a query word is expanded (function and very common words relate to everything). */
    minQueryRank: 300,
    /** Frequency rank from which a turn's word can match a query word by meaning. */
    minTurnRank: 1000,
    /** Sessions whose word index this process keeps, least recently queried dropped first. Fewer than the sessions
     * being queried at once means rebuilding an index on most queries. */
    sessionsKept: 128,
    /** Seeds per query: this share of the lexical seed count. */
    seedShare: 1,
  },
} as const;

/**
 * How a budget is split across envelope sections when no query is given: shares of what remains after
 * the fixed frame; unused tokens flow on (see the planner's backfill order).
 */
export const sectionShares = {
  task_anchor: 0.08,
  hard_constraints: 0.07,
  retrieved_memory: 0.1,
  tool_findings: 0.15,
  summary: 0.1,
  recent_turns: 0.25,
  relevant_history: 0.15,
  past_sessions: 0.1,
} as const;

/**
 * Relevant history and the user's other sessions are ranked together and packed as one (the planner's `pools`): in
 * each table below their shares add up to what relevant history alone had before the other sessions were recalled,
 * and the split only says how the budget report attributes that room.
 */
export const historyPool = ['relevant_history', 'past_sessions'] as const;

/**
 * Shares when the session is in a tool-using stretch (its newest tool result is among the recent turns): the values
 * the next call needs live in tool results, so they take the largest share, then the newest turns; relevant history
 * and the rest take what is left. Applies with or without a query.
 */
export const toolSectionShares = {
  task_anchor: 0.05,
  hard_constraints: 0.07,
  retrieved_memory: 0.03,
  tool_findings: 0.5,
  summary: 0,
  recent_turns: 0.25,
  relevant_history: 0.06,
  past_sessions: 0.04,
} as const satisfies Record<keyof typeof sectionShares, number>;

/**
 * Shares when a query is given: the turns that match it get most of the budget. The newest turns keep a small share
 * (the thread the next call continues); the rolling summary only receives what nothing more specific could use.
 */
export const querySectionShares = {
  task_anchor: 0.05,
  hard_constraints: 0.07,
  retrieved_memory: 0.08,
  tool_findings: 0.1,
  summary: 0,
  recent_turns: 0.05,
  relevant_history: 0.35,
  past_sessions: 0.3,
} as const satisfies Record<keyof typeof sectionShares, number>;
