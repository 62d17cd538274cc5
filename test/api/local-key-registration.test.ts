// The local key at start: registered when missing or revoked, only read when an earlier start registered it.
import { PgDialect } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/db/store.js';
import { registerLocalKey } from '../../src/runtime/node/local-key.js';
import { authenticate, revokeApiKey } from '../../src/services/auth.js';
import { backends, harness, type Harness } from '../helpers.js';

/** The store, with the text of every statement sent through `query` written down. */
function recording(store: Store) {
  const dialect = new PgDialect();
  const sent: string[] = [];
  const recorded: Store = {
    ...store,
    query: (statement) => {
      sent.push(dialect.sqlToQuery(statement).sql);
      return store.query(statement);
    },
  };
  return { recorded, sent };
}

describe.each(backends)('registering the local key ($name)', ({ open }) => {
  let h: Harness;
  let sent: string[];
  const key = `ctx_local_test_${crypto.randomUUID()}`;
  beforeAll(async () => {
    const store = recording(await open());
    sent = store.sent;
    h = await harness(async () => store.recorded, { CONTEXT_API_KEY: key });
  });
  afterAll(() => h.close());

  it('writes the key once, and only reads it on the next start', async () => {
    const first = await registerLocalKey(h.deps);
    expect(first).toEqual({ key, origin: 'env' });
    expect(sent.some((s) => /INSERT INTO api_keys/.test(s))).toBe(true);
    expect((await authenticate(h.deps, `Bearer ${key}`)).tenantId).toBe('local');

    sent.length = 0;
    await registerLocalKey(h.deps);
    expect(sent.filter((s) => /\b(INSERT|UPDATE|DELETE)\b/i.test(s))).toEqual([]);
    expect((await authenticate(h.deps, `Bearer ${key}`)).tenantId).toBe('local');
  });

  it('registers it again after it was revoked', async () => {
    const { keyId } = await authenticate(h.deps, `Bearer ${key}`);
    await revokeApiKey(h.deps, keyId);
    await expect(authenticate(h.deps, `Bearer ${key}`)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await registerLocalKey(h.deps);
    expect((await authenticate(h.deps, `Bearer ${key}`)).tenantId).toBe('local');
  });
});
