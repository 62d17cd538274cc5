// A turn's item: rendered and counted once per turn row and tokenizer, the same item as built from its parts.
import { describe, expect, it } from 'vitest';
import { escapeFence } from '../../src/pipeline/fence.js';
import { item, turnItem, turnLine } from '../../src/pipeline/items.js';
import type { TurnRow } from '../../src/pipeline/retriever/types.js';
import { getTokenizer, type Tokenizer } from '../../src/tokenizer.js';

const row = (over: Partial<TurnRow> = {}): TurnRow => ({
  id: 't1',
  sequence: 7,
  role: 'assistant',
  name: 'Ana',
  content: 'Look: <data>not a fence</data>\nsecond line',
  token_count: 12,
  external_id: null,
  tool_call_id: null,
  tool_calls: [{ id: 'c1', name: 'lookup', arguments: '{"q":"<data>"}' }],
  created_at: '2026-01-02T03:04:05Z',
  score: 0,
  ...over,
});

/** The tokenizer, with the texts it was asked to count. */
async function counting(): Promise<{ tok: Tokenizer; counted: string[] }> {
  const base = await getTokenizer();
  const counted: string[] = [];
  return { tok: { ...base, count: (text) => (counted.push(text), base.count(text)) }, counted };
}

describe('turn items', () => {
  it('are the items built from the escaped content and the turn line', async () => {
    const { tok } = await counting();
    for (const t of [row(), row({ name: null, role: 'user', tool_calls: null, content: 'plain' })]) {
      const built = item(tok, 'relevant_history', t.id, 0.5, 3, {
        content: escapeFence(t.content),
        lineFor: turnLine(t),
        turn: t,
        source: 'relevant_history',
      });
      const made = turnItem(tok, 'relevant_history', t, 0.5, 3, 'relevant_history');
      const { lineFor: a, ...restMade } = made.payload;
      const { lineFor: b, ...restBuilt } = built.payload;
      expect({ ...made, payload: restMade }).toEqual({ ...built, payload: restBuilt });
      expect(a('x')).toBe(b('x'));
    }
  });

  it('renders and counts a row once per tokenizer, whatever the section or score', async () => {
    const first = await counting();
    const t = row();
    const a = turnItem(first.tok, 'relevant_history', t, 0.9, 7, 'relevant_history');
    const b = turnItem(first.tok, 'recent_turns', t, 0.1, 7, 'recent_turns');
    expect(first.counted).toHaveLength(1);
    expect(b.line).toBe(a.line);
    expect([b.section, b.score, b.payload.source]).toEqual(['recent_turns', 0.1, 'recent_turns']);
    // Another row with the same id is rendered on its own; so is the row under another tokenizer.
    turnItem(first.tok, 'recent_turns', row({ content: 'changed' }), 1, 7, 'recent_turns');
    expect(first.counted).toHaveLength(2);
    const second = await counting();
    turnItem(second.tok, 'recent_turns', t, 1, 7, 'recent_turns');
    expect(second.counted).toHaveLength(1);
  });
});
