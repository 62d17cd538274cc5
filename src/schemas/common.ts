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

export const SessionParams = z.object({
  session_id: Id.openapi({ param: { name: 'session_id', in: 'path' }, example: 'sess-42' }),
});
