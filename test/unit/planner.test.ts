import { describe, expect, it } from 'vitest';
import { dropLast, plan, type Item } from '../../src/pipeline/planner.js';
import { sectionNames, type SectionName } from '../../src/schemas/context.js';

const empty = () => Object.fromEntries(sectionNames.map((s) => [s, [] as Item[]])) as Record<SectionName, Item[]>;
const headers = Object.fromEntries(sectionNames.map((s) => [s, 5])) as Record<SectionName, number>;
const item = (section: SectionName, id: string, tokens: number, score = 1, order = 0): Item => ({
  id,
  section,
  line: id,
  tokens,
  score,
  order,
  payload: null,
});

describe('budget planner', () => {
  it('never spends more than the budget minus reserve and frame', () => {
    const candidates = empty();
    for (let i = 0; i < 50; i++) {
      candidates.recent_turns.push(item('recent_turns', `r${i}`, 17));
      candidates.relevant_history.push(item('relevant_history', `h${i}`, 23, 1 - i / 100));
      candidates.retrieved_memory.push(item('retrieved_memory', `m${i}`, 11));
    }
    for (const budget of [50, 120, 500, 2000]) {
      const p = plan({ budget, reserve: 10, frameTokens: 20, headerTokens: headers, candidates });
      const spent =
        p.kept.reduce((s, k) => s + k.tokens, 0) + p.report.sections.reduce((s, r) => s + (r.kept > 0 ? 5 : 0), 0);
      expect(spent).toBeLessThanOrEqual(Math.max(0, budget - 30));
      expect(p.report.used_tokens).toBeLessThanOrEqual(budget - 10);
    }
  });

  it('lets an empty section’s share flow to the next and backfills leftovers', () => {
    const candidates = empty();
    for (let i = 0; i < 40; i++) candidates.relevant_history.push(item('relevant_history', `h${i}`, 10, 1 - i / 100));
    const p = plan({ budget: 300, reserve: 0, frameTokens: 0, headerTokens: headers, candidates });
    const history = p.report.sections.find((s) => s.section === 'relevant_history')!;
    // Everything but the headers can go to the only section that has candidates.
    expect(history.used).toBeGreaterThan(250);
    expect(p.report.sections.find((s) => s.section === 'hard_constraints')!.note).toMatch(/flowed/);
  });

  it('reports duplicates and over-budget drops with reasons', () => {
    const candidates = empty();
    candidates.recent_turns.push(item('recent_turns', 'a', 10));
    candidates.relevant_history.push(
      item('relevant_history', 'a', 10, 0.9),
      item('relevant_history', 'big', 10_000, 0.8),
    );
    const p = plan({ budget: 200, reserve: 0, frameTokens: 0, headerTokens: headers, candidates });
    expect(p.report.dropped).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'a', section: 'relevant_history', reason: 'duplicate' }),
        expect.objectContaining({ id: 'big', section: 'relevant_history', reason: 'over_budget' }),
      ]),
    );
    expect(p.kept.map((k) => k.id)).toEqual(['a']);
  });

  it('packs a leftover-only item from what the other sections leave, never from its own share', () => {
    const candidates = empty();
    candidates.retrieved_memory.push({ ...item('retrieved_memory', 'short', 10), leftoverOnly: true });
    candidates.retrieved_memory.push(item('retrieved_memory', 'written', 10));
    for (let i = 0; i < 40; i++) candidates.relevant_history.push(item('relevant_history', `h${i}`, 10, 1 - i / 100));
    const shares = {
      ...Object.fromEntries(sectionNames.map((s) => [s, 0])),
      relevant_history: 0.5,
      retrieved_memory: 0.5,
    } as Record<SectionName, number>;
    const tight = plan({ budget: 300, reserve: 0, frameTokens: 0, headerTokens: headers, candidates, shares });
    // The memory share holds the written one; the rest of it flows to history, which still has candidates.
    expect(tight.kept.map((k) => k.id)).toContain('written');
    expect(tight.kept.map((k) => k.id)).not.toContain('short');
    expect(tight.report.dropped).toContainEqual(expect.objectContaining({ id: 'short', reason: 'over_budget' }));
    const roomy = plan({ budget: 1000, reserve: 0, frameTokens: 0, headerTokens: headers, candidates, shares });
    expect(roomy.kept.map((k) => k.id)).toEqual(expect.arrayContaining(['short', 'written', 'h39']));
  });

  it('shrinks an item that does not fit when a shrinker is given', () => {
    const candidates = empty();
    candidates.tool_findings.push(item('tool_findings', 'huge', 5_000));
    const p = plan({
      budget: 400,
      reserve: 0,
      frameTokens: 0,
      headerTokens: headers,
      candidates,
      shrink: (it, max) => ({ ...it, tokens: max, truncated: true }),
    });
    expect(p.kept).toHaveLength(1);
    expect(p.kept[0]!.truncated).toBe(true);
    expect(p.kept[0]!.tokens).toBeLessThanOrEqual(400);
  });

  it('dropLast removes the lowest-priority item and records why', () => {
    const candidates = empty();
    candidates.task_anchor.push(item('task_anchor', 'task', 5));
    candidates.recent_turns.push(item('recent_turns', 'r', 5));
    candidates.summary.push(item('summary', 's', 5));
    const p = plan({ budget: 500, reserve: 0, frameTokens: 0, headerTokens: headers, candidates });
    expect(dropLast(p)?.id).toBe('s');
    expect(dropLast(p)?.id).toBe('r');
    expect(dropLast(p)).toBeUndefined();
    expect(p.report.dropped[0]).toMatchObject({ id: 'r', reason: 'final_fit' });
  });
});

describe('budget planner with groups, shared fences and query shares', () => {
  const shares = Object.fromEntries(sectionNames.map((s) => [s, 0])) as Record<SectionName, number>;
  const grouped = (section: SectionName, id: string, tokens: number, group: string, score = 1): Item => ({
    ...item(section, id, tokens, score),
    group,
    groupTokens: 7,
  });

  it('never exceeds the budget, whatever the mix (randomised)', () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 200; round++) {
      const candidates = empty();
      for (const s of sectionNames) {
        const n = Math.floor(rnd() * 30);
        for (let i = 0; i < n; i++) {
          const it = grouped(s, `${s}${i}`, 1 + Math.floor(rnd() * 120), `g${Math.floor(rnd() * 5)}`, rnd());
          candidates[s].push(rnd() < 0.1 ? { ...it, duplicateOf: 'x' } : it);
        }
        candidates[s].sort((a, b) => b.score - a.score);
      }
      const budget = 1 + Math.floor(rnd() * 3000);
      const reserve = Math.floor(rnd() * Math.min(200, budget));
      const p = plan({
        budget,
        reserve,
        frameTokens: 15,
        headerTokens: headers,
        candidates,
        fences: { relevant_history: 'history', recent_turns: 'history' },
        shares: rnd() < 0.5 ? undefined : { ...shares, relevant_history: 0.7, recent_turns: 0.1, summary: 0.2 },
        shrink: (it, max) => ({ ...it, tokens: max, truncated: true }),
      });
      // Real cost: items, each fence once, each group header once per fence.
      const fences = new Set(p.kept.map((k) => (k.section === 'recent_turns' ? 'relevant_history' : k.section)));
      const groups = new Set(
        p.kept.map((k) => `${k.section === 'recent_turns' ? 'relevant_history' : k.section}/${k.group}`),
      );
      const cost = p.kept.reduce((s, k) => s + k.tokens, 0) + fences.size * 5 + groups.size * 7;
      expect(cost).toBeLessThanOrEqual(Math.max(0, budget - reserve - 15));
      expect(p.kept.some((k) => k.duplicateOf !== undefined)).toBe(false);
    }
  });

  it('charges a group header and a shared fence once', () => {
    const candidates = empty();
    candidates.relevant_history.push(
      grouped('relevant_history', 'a', 10, 'd1'),
      grouped('relevant_history', 'b', 10, 'd1'),
    );
    candidates.recent_turns.push(grouped('recent_turns', 'c', 10, 'd1'));
    const p = plan({
      budget: 1000,
      reserve: 0,
      frameTokens: 0,
      headerTokens: headers,
      candidates,
      fences: { relevant_history: 'history', recent_turns: 'history' },
    });
    expect(p.kept.map((k) => k.id).sort()).toEqual(['a', 'b', 'c']);
    expect(p.report.used_tokens).toBe(30 + 5 + 7);
  });

  it('gives what other sections leave to relevant history first, the summary last', () => {
    const candidates = empty();
    for (let i = 0; i < 100; i++) candidates.relevant_history.push(item('relevant_history', `h${i}`, 10, 1 - i / 1000));
    candidates.summary.push(item('summary', 'sum', 200));
    const p = plan({
      budget: 500,
      reserve: 0,
      frameTokens: 0,
      headerTokens: headers,
      candidates,
      shares: { ...shares, relevant_history: 0.6, recent_turns: 0.2, summary: 0 },
    });
    const row = (s: SectionName) => p.report.sections.find((r) => r.section === s)!;
    expect(row('summary').kept).toBe(0);
    expect(row('relevant_history').used).toBeGreaterThan(480);
    expect(row('relevant_history').note).toMatch(/tokens from shares other sections did not use/);
    expect(row('recent_turns').note).toMatch(/flowed/);
  });

  it('reports near-duplicates as duplicates and packs the next item instead', () => {
    const candidates = empty();
    candidates.relevant_history.push(
      item('relevant_history', 'a', 10, 0.9),
      { ...item('relevant_history', 'a2', 10, 0.8), duplicateOf: 'a' },
      item('relevant_history', 'b', 10, 0.7),
    );
    const p = plan({ budget: 100, reserve: 0, frameTokens: 0, headerTokens: headers, candidates });
    expect(p.kept.map((k) => k.id)).toEqual(['a', 'b']);
    expect(p.report.dropped).toEqual([expect.objectContaining({ id: 'a2', reason: 'duplicate' })]);
  });
});
