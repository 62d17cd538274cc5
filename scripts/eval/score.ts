// Scoring of one rendered context against one question, and the aggregates reported per method, budget and
// category. Pure: the token counter is passed in.

/** Lower-case, drop punctuation and symbols, drop the articles a/an/the, collapse whitespace (SQuAD-style). */
export function normalizeAnswer(value: unknown): string {
  return String(value ?? '')
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{P}\p{S}]/gu, '')
    .replace(/(?<![\p{L}\p{N}])(?:a|an|the)(?![\p{L}\p{N}])/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The normalized answer occurs in the normalized context as whole words: "2" must not be credited by "2023".
 * An answer that normalizes to nothing is never a hit.
 */
export function answerHit(answer: unknown, normalizedContext: string): boolean {
  const a = normalizeAnswer(answer);
  return a !== '' && ` ${normalizedContext} `.includes(` ${a} `);
}

export interface QuestionScore {
  tokens: number;
  overBudget: boolean;
  evidenceRecall: number;
  allEvidence: boolean;
  answerHit: boolean;
  /** The evidence strings not found verbatim (all of them when the context is over budget). */
  missed: string[];
}

/**
 * `evidence` holds the exact content strings of the evidence turns. A context over budget scores 0 on everything
 * (it could not be sent), but is still counted.
 */
export function scoreContext(
  text: string,
  q: { evidence: string[]; answer: unknown },
  budget: number,
  count: (text: string) => number,
): QuestionScore {
  const tokens = count(text);
  if (tokens > budget)
    return { tokens, overBudget: true, evidenceRecall: 0, allEvidence: false, answerHit: false, missed: q.evidence };
  const missed = q.evidence.filter((e) => !text.includes(e));
  const total = q.evidence.length;
  const present = total - missed.length;
  return {
    tokens,
    overBudget: false,
    evidenceRecall: total === 0 ? 0 : present / total,
    allEvidence: total > 0 && present === total,
    answerHit: answerHit(q.answer, normalizeAnswer(text)),
    missed,
  };
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; 0 for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export interface Sample {
  score: QuestionScore;
  ms: number;
}

export interface Summary {
  evidence_recall: number;
  all_evidence: number;
  answer_hit: number;
  over_budget: number;
  p50_ms: number;
  p95_ms: number;
  questions: number;
}

export function summarize(samples: Sample[]): Summary {
  const n = samples.length;
  const mean = (f: (s: Sample) => number) => (n === 0 ? 0 : samples.reduce((acc, s) => acc + f(s), 0) / n);
  const ms = samples.map((s) => s.ms);
  return {
    evidence_recall: mean((s) => s.score.evidenceRecall),
    all_evidence: mean((s) => (s.score.allEvidence ? 1 : 0)),
    answer_hit: mean((s) => (s.score.answerHit ? 1 : 0)),
    over_budget: samples.filter((s) => s.score.overBudget).length,
    p50_ms: percentile(ms, 50),
    p95_ms: percentile(ms, 95),
    questions: n,
  };
}

/** Another user's turns, as a leak check finds them: each turn carries a tag of its own, all of them the marker. */
export interface ForeignTurns {
  /** Text only that user's turns contain (their id, used as speaker name and inside each tag). */
  marker: string;
  tags: string[];
}

/**
 * How many of another user's turns a rendered context holds: the tags found, or one when only the marker shows (a
 * line cut short, or named by that user's speaker name).
 */
export function countLeaks(text: string, foreign: ForeignTurns): number {
  const tagged = foreign.tags.filter((t) => text.includes(t)).length;
  return tagged > 0 ? tagged : text.includes(foreign.marker) ? 1 : 0;
}
