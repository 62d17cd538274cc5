// Settings users tune live here, each with its default and the reason for it. The environment is parsed once at
// start-up by a zod schema, so a malformed setting fails fast with its name.
import { z } from 'zod';

export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('.data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  CONTEXT_API_KEY: z.string().min(8, 'must be at least 8 characters').optional(),
  CONTEXT_ADMIN_KEY: z.string().min(8, 'must be at least 8 characters').optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: z.url().optional(),
  CONTEXT_LLM_MODEL: z.string().default('gpt-4o-mini'),
  CONTEXT_LLM_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(1200),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
});
export type Env = z.infer<typeof envSchema>;

export function parseEnv(source: Record<string, string | undefined>): Env {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

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
  /** Candidates fetched from full-text search before ranking and packing. */
  lexicalCandidates: 60,
} as const;

/**
 * How a budget is split across envelope sections (seed 001 M2). Shares of what remains after the fixed frame;
 * unused tokens flow on to the next section in this order.
 */
export const sectionShares = {
  task_anchor: 0.08,
  hard_constraints: 0.07,
  retrieved_memory: 0.1,
  tool_findings: 0.15,
  summary: 0.1,
  recent_turns: 0.25,
  relevant_history: 0.25,
} as const;
