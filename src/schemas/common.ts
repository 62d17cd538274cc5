import { z } from '@hono/zod-openapi';
import { limits } from '../config/tuning.js';

/**
 * Client-chosen identifiers (session, user, agent, flow, chain, step ids), the one rule for every entry point (REST
 * paths and bodies, /v1/events, MCP tools): printable, no spaces or slashes, and not made only of dots. `.` and `..`
 * are path segments that URLs resolve away, so an entity under such an id could be written but never read or
 * deleted over REST; longer runs of dots are refused with them, as no id needs them and file and path tools treat
 * them specially too (Windows drops trailing dots from a name).
 */
export const Id = z
  .string()
  .min(1)
  .max(limits.idLength)
  .regex(/^(?!\.+$)[A-Za-z0-9._:@-]+$/, 'may contain only letters, digits and . _ : @ -, and not only dots');

export const Timestamp = z.union([z.iso.datetime({ offset: true }), z.iso.date()]).openapi({
  example: '2023-05-08T13:56:00Z',
});

/** Free-form JSON metadata, bounded in depth by the JSON parser guard and in size by the body limit. */
export const Metadata = z.record(z.string().max(128), z.unknown());

export const Page = z.object({
  next_cursor: z
    .string()
    .nullable()
    .openapi({ description: 'Pass as `cursor` to get the next page; null at the end.' }),
});

/**
 * Page cursors of the lists (sessions, users, agents, memories): the sort key of a page's last row, as base64 of a
 * JSON pair. A cursor is checked against `parts` here, never by the database.
 */
export function encodeCursor(parts: readonly [string, string]): string {
  return btoa(JSON.stringify(parts)).replace(/=+$/, '');
}

export function decodeCursor<T>(cursor: string, parts: z.ZodType<T>): T | undefined {
  let value: unknown;
  try {
    value = JSON.parse(atob(cursor));
  } catch {
    return undefined;
  }
  const parsed = parts.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** The `cursor` query parameter of a list whose cursors hold `parts`. */
export const cursorParam = <T>(parts: z.ZodType<T>) =>
  z
    .string()
    .max(200)
    .refine((c) => decodeCursor(c, parts) !== undefined, 'not a cursor this API returned')
    .optional()
    .openapi({ description: 'The `next_cursor` of the page before.' });

/** `limit` of a list page. */
export const PageLimit = z.coerce.number().int().min(1).max(limits.pageSizeMax).default(limits.pageSizeDefault);

/**
 * A creation time as PostgreSQL prints it (`created_at::text`): exact to the microsecond, so a cursor built from it
 * neither skips nor repeats rows created within the same millisecond.
 */
export const PgTimestamp = z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/);

export const SessionParams = z.object({
  session_id: Id.openapi({ param: { name: 'session_id', in: 'path' }, example: 'sess-42' }),
});
