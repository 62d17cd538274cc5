// PostgreSQL errors as the three drivers report them (SQLSTATE in `code`), read from the driver's error that drizzle
// wraps, whose own message carries the SQL and its parameters. Code that branches on a database error uses these.

export const UNIQUE_VIOLATION = '23505';
export const DEADLOCK_DETECTED = '40P01';

/** The error and its causes, outermost first (a bounded walk: a cycle of causes cannot hang it). */
export function* causes(err: unknown, depth = 8): Generator<object> {
  for (let e = err, i = 0; e !== null && typeof e === 'object' && i < depth; e = (e as { cause?: unknown }).cause, i++)
    yield e;
}

/** The PostgreSQL error (one carrying a SQLSTATE and a severity) in the chain, wherever a driver or drizzle put it. */
export function pgError(err: unknown): { code: string; constraint: string | undefined } | undefined {
  for (const e of causes(err)) {
    const { code, severity, constraint } = e as { code?: unknown; severity?: unknown; constraint?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string')
      return { code, constraint: typeof constraint === 'string' && constraint ? constraint : undefined };
  }
  return undefined;
}

/** The SQLSTATE of a database error, or undefined for anything else. */
export const pgErrorCode = (err: unknown): string | undefined => pgError(err)?.code;

/** A unique or primary-key constraint refused the write (a concurrent writer stored the same key first). */
export const isUniqueViolation = (err: unknown): boolean => pgErrorCode(err) === UNIQUE_VIOLATION;

/** The database broke a lock cycle by aborting this statement; run again, it usually succeeds. */
export const isDeadlock = (err: unknown): boolean => pgErrorCode(err) === DEADLOCK_DETECTED;
