// QueryContext's retrieval and packing end to end, on PGlite and PostgreSQL: old evidence with its answer turn,
// compact rendering, near-duplicates shown once, the time range honoured and the budget never exceeded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, harness, tenant, type Client, type Harness } from '../helpers.js';

const day = (d: number) => new Date(Date.UTC(2023, 4, 1 + d, 14, 0)).toISOString();
const smallTalk = [
  'How was your week?',
  'Pretty busy, work and the kids.',
  'Same here, lots going on.',
  'Let us catch up soon!',
];

/** Twelve sittings of small talk, one of which holds a question and its answer. */
function conversation() {
  const turns: { role: string; name: string; content: string; created_at: string; external_id: string }[] = [];
  for (let d = 0; d < 12; d++) {
    const lines = [...smallTalk];
    if (d === 3)
      lines.splice(
        2,
        0,
        'What instrument did you pick up?',
        'I started learning the violin with a teacher from Porto.',
      );
    if (d === 7)
      lines.splice(1, 0, 'My violin teacher from Porto moved away.', 'My violin teacher from Porto moved away!');
    lines.forEach((content, i) =>
      turns.push({
        role: i % 2 ? 'assistant' : 'user',
        name: i % 2 ? 'Bo' : 'Ana',
        content,
        created_at: day(d),
        external_id: `D${d}:${i}`,
      }),
    );
  }
  return turns;
}

describe.each(backends)('context quality on $name', ({ open }) => {
  let h: Harness;
  let c: Client;
  beforeAll(async () => {
    h = await harness(open);
    c = await tenant(h);
    const w = await c.call('POST', '/v1/sessions/chat/turns', { turns: conversation() });
    expect(w.status).toBe(201);
  });
  afterAll(async () => h.close());

  const ask = (body: Record<string, unknown>) =>
    c.call('POST', '/v1/sessions/chat/context', { budget_tokens: 400, ...body });

  it('finds the old answer next to the question it follows, rendered compactly', async () => {
    const r = await ask({ query: 'What instrument did Ana pick up?' });
    const text: string = r.json.rendered.text;
    expect(text).toContain('Bo: I started learning the violin with a teacher from Porto.');
    expect(text).toContain('[4 May 2023]');
    expect(text).not.toMatch(/\[2023-\d\d-\d\d \d\d:\d\d\]/);
    // One header per day, and the answer's day appears once.
    expect(text.split('[4 May 2023]').length).toBe(2);
    const hit = r.json.envelope.relevant_history.find((x: any) =>
      x.content.startsWith('I started learning the violin'),
    );
    expect(hit.source).toBe('retrieved');
  });

  it('shows a repeated turn once and reports the repeat as a duplicate', async () => {
    const r = await ask({ query: 'Who moved away from Porto?' });
    const text: string = r.json.rendered.text;
    expect(text.split('teacher from Porto moved away').length).toBe(2);
    expect(r.json.envelope.budget_report.dropped.some((d: any) => d.reason === 'duplicate')).toBe(true);
  });

  it('keeps to the time range', async () => {
    const r = await ask({ query: 'violin teacher Porto', time_range: { from: day(6), to: day(9) } });
    expect(r.json.rendered.text).toContain('moved away');
    expect(r.json.rendered.text).not.toContain('I started learning the violin');
  });

  it('never exceeds the budget and explains every section', async () => {
    for (const budget of [20, 45, 90, 150, 333, 800, 2000]) {
      for (const query of ['violin', 'What did Bo say about the kids and work?', undefined]) {
        const r = await ask({ query, budget_tokens: budget });
        expect(r.status).toBe(200);
        expect(r.json.token_count).toBeLessThanOrEqual(budget);
        expect(h.deps.tokenizer.count(r.json.rendered.text)).toBe(r.json.token_count);
        expect(r.json.envelope.budget_report.sections).toHaveLength(8);
      }
    }
  });
});
