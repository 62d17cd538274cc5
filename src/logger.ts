// Structured JSON logs, one object per line, with the request id where there is one. Errors are logged as summaries
// (class, SQLSTATE, constraint, first line): drizzle's errors carry the SQL parameters, i.e. stored content.
import { causes, pgError } from './db/errors.js';

const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof levels;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Where lines go: stderr for warnings and errors, stdout for the rest (tests pass a sink that records them). */
export type LogSink = (line: string, level: Exclude<LogLevel, 'silent'>) => void;
const consoleSink: LogSink = (line, lvl) => (levels[lvl] >= levels.warn ? console.error(line) : console.log(line));

export function createLogger(
  level: LogLevel = 'info',
  base: Record<string, unknown> = {},
  sink: LogSink = consoleSink,
): Logger {
  const min = levels[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (levels[lvl] < min) return;
    const line = { time: new Date().toISOString(), level: lvl, msg, ...safeFields(base), ...safeFields(fields) };
    sink(JSON.stringify(line), lvl);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, { ...base, ...fields }, sink),
  };
}

function safeFields(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!fields) return fields;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v instanceof Error) out[k] = errorSummary(v);
    else if (k === 'error' && typeof v === 'string') out[k] = safeErrorMessage(v) || (v && 'message withheld');
    else if (k === 'stack' && typeof v === 'string') out[k] = stackFrames(v);
    else out[k] = v;
  }
  return out;
}

export interface ErrorSummary {
  /** The error's class, e.g. DrizzleQueryError, TypeError. */
  class: string;
  /** The SQLSTATE of a database error (or a system error code such as ECONNREFUSED). */
  code?: string;
  constraint?: string;
  message: string;
}

/** What may be logged about an error: never its parameters, its stored content or a value it quotes. */
export function errorSummary(err: unknown): ErrorSummary {
  const pg = pgError(err);
  let code = pg?.code;
  if (!code)
    for (const e of causes(err)) {
      const c = (e as { code?: unknown }).code;
      if (typeof c === 'string' && /^[A-Z0-9_]{2,32}$/.test(c)) {
        code = c;
        break;
      }
    }
  // The first cause with a message of its own: a drizzle query error's own message is only SQL and parameters.
  let message = '';
  for (const e of causes(err)) {
    message = safeErrorMessage(e instanceof Error ? e.message : String(e));
    if (message) break;
  }
  const ctor = (err as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  // Bundled drivers may carry minified class names; the error's own name is the better label then.
  const readable = typeof ctor === 'string' && ctor.length > 2 && ctor !== 'Object';
  const name = readable ? ctor : err instanceof Error ? err.name : typeof err;
  return { class: name, ...(code ? { code } : {}), ...(pg?.constraint ? { constraint: pg.constraint } : {}), message };
}

const MAX_MESSAGE = 200;

/**
 * The first line of an error message, without drizzle's "Failed query: … params: …" and with quoted text elided
 * (database messages quote the offending value, e.g. `invalid input syntax for type uuid: "…"`).
 */
export function safeErrorMessage(message: string): string {
  const first = (message.split(/\r?\n/, 1)[0] ?? '').replace(/\s*Failed query:.*$/, '');
  const elided = first.replace(/"[^"]*"|(?<![A-Za-z])'[^']*'|“[^”]*”/g, (q) => `${q[0]}…${q[q.length - 1]}`).trim();
  return elided.length > MAX_MESSAGE ? `${elided.slice(0, MAX_MESSAGE)}…` : elided;
}

/** A stack without its header lines, which repeat the message. */
const stackFrames = (stack: string) =>
  stack
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .join('\n');
