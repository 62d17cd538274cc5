// Column values as the drivers hand them back: PGlite, node-postgres and Neon differ on booleans, JSON, integers,
// numerics and text[]. Services read every such column through these.

/** A boolean column: `true`, or PostgreSQL's text form `'t'`. */
export const bool = (v: unknown): boolean => v === true || v === 't';

/** A json or jsonb column: parsed when it comes back as text. */
export const json = <T = any>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

/** An integer (int, bigint, a count) that may come back as a string or a bigint. */
export const int = (v: unknown): number => Number(v);

/** A real or numeric (an importance, a score, an average) that may come back as a string. */
export const num = (v: unknown): number => Number(v);

/** `int` of a nullable column: null (or no value) stays null. */
export const intOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : int(v));

/** `num` of a nullable column: null (or no value) stays null. */
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));

/** A text[] column: drivers return it either parsed or as a Postgres array literal. */
export function textArray(v: readonly string[] | string | null | undefined): string[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return [...v];
  const inner = (v as string).replace(/^\{|\}$/g, '');
  if (!inner) return [];
  return (inner.match(/"((?:[^"\\]|\\.)*)"|[^,]+/g) ?? []).map((s) =>
    s.startsWith('"') ? s.slice(1, -1).replace(/\\(.)/g, '$1') : s,
  );
}
