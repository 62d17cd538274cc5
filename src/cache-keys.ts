// Keys built from caller-chosen parts (tenant, session, user ids): each part is escaped so it cannot hold the
// separator, so one key names exactly one tuple and one session's prefix covers that session alone.

/** `part` with `%` and `:` percent-escaped: injective, and the result never contains `:`. */
export const keyPart = (part: string | number): string =>
  String(part).replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));

/** A key of escaped parts joined by `:`. */
export const joinKey = (...parts: (string | number)[]): string => parts.map(keyPart).join(':');
