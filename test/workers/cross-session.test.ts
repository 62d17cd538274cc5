// Recall across sessions inside workerd, on Neon and Upstash: a user's new session recalls an earlier one, another user
// never does, and a write to the earlier session or its deletion stops the cached context from being served.
import { describe, expect, it } from 'vitest';
import { api, newTenant, uid, upstash } from './helpers.js';

const allergy = 'My daughter Mira is allergic to peanuts, so no peanut snacks for her.';
const question = 'snack for my daughter, any allergies?';

describe('recall across sessions on Workers', () => {
  it("recalls the user's earlier session, never another user's, and a cached answer goes stale with it", async () => {
    const { tenantId, key } = await newTenant('recall');
    const [s1, s2, other] = [uid('s1'), uid('s2'), uid('other')];
    const owner = { user_id: uid('u'), agent_id: uid('a') };
    const write = async (session: string, content: string, who = owner) =>
      expect(
        (await api(key, 'POST', `/v1/sessions/${session}/turns`, { turns: [{ role: 'user', content }], ...who }))
          .status,
      ).toBe(201);
    const ask = async (session: string) => {
      const r = await api(key, 'POST', `/v1/sessions/${session}/context`, { query: question, budget_tokens: 600 });
      expect(r.status).toBe(200);
      return r.body;
    };

    await write(s1, allergy);
    await write(s2, question);
    const first = await ask(s2);
    expect(first.cached).toBe(false);
    expect(first.token_count).toBeLessThanOrEqual(600);
    expect(first.rendered.text).toMatch(
      new RegExp(`<data session="${s1}" date="[^"]+" latest="true">\\n[^\\n]*${allergy}`),
    );
    expect(first.envelope.relevant_history.find((h: any) => h.content === allergy)).toMatchObject({
      source: 'past_session',
      session_id: s1,
    });
    expect((await ask(s2)).cached).toBe(true);

    await write(other, question, { ...owner, user_id: uid('u2') });
    expect(JSON.stringify(await ask(other))).not.toContain('peanuts');

    await write(s1, 'Mira is also allergic to kiwi snacks.');
    const after = await ask(s2);
    expect(after.cached).toBe(false);
    expect(after.rendered.text).toContain('kiwi');

    expect((await api(key, 'DELETE', `/v1/sessions/${s1}`)).status).toBe(204);
    const gone = await ask(s2);
    expect(gone.cached).toBe(false);
    expect(JSON.stringify(gone)).not.toMatch(/peanuts|kiwi/);
    // Upstash holds nothing of the deleted session: no cached context of the tenant names what it said.
    const redis = upstash();
    const keys = (await redis.keys(`ctx*:${tenantId}:*`)).filter((k) => !k.startsWith('idx:'));
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(JSON.stringify(await redis.get(k))).not.toMatch(/peanuts|kiwi/);
  });
});
