// The offline learner's patterns and plans, and the check of a model's memory operations, without a database.
import { describe, expect, it } from 'vitest';
import {
  classify,
  extractStatements,
  planStatements,
  type CurrentMemory,
  type LearnTurn,
} from '../../src/services/learn-extractive.js';
import { checkOperations } from '../../src/services/learn-memories.js';

const turn = (sequence: number, content: string, role = 'user', name: string | null = null): LearnTurn => ({
  sequence,
  role,
  name,
  content,
  created_at: `2024-05-0${sequence}T10:00:00.000Z`,
});
const memory = (id: string, content: string, extra: Partial<CurrentMemory> = {}): CurrentMemory => ({
  id,
  kind: 'fact',
  content,
  origin: 'learned',
  slot: null,
  valid_from: '2024-01-01T00:00:00.000Z',
  ...extra,
});
let n = 0;
const ids = () => `new-${++n}`;

describe('classify', () => {
  it.each([
    ['My daughter Mira is allergic to peanuts.', 'constraint', undefined],
    ["Don't book flights before 9am.", 'constraint', undefined],
    ['Always use metric units, please.', 'constraint', undefined],
    ["Don't give my number to anyone.", 'constraint', undefined],
    ["I'm vegetarian.", 'constraint', undefined],
    ["I can't eat gluten.", 'constraint', undefined],
    ['We live in Lisbon.', 'fact', 'self:residence'],
    ['We moved to Porto last month.', 'fact', 'self:residence'],
    ['My sister lives in Paris.', 'fact', 'sister:residence'],
    ['I work at Siemens as an engineer.', 'fact', 'self:work'],
    ['My name is Ada.', 'fact', 'self:name'],
    ['I have two kids.', 'fact', undefined],
    ['I prefer aisle seats.', 'preference', undefined],
    ['My favorite color is blue.', 'preference', undefined],
    ['I need to renew my passport before June.', 'task', undefined],
    ["We're moving to Porto next month.", 'task', undefined],
    ['Please remind me to call my mother on Sunday.', 'task', undefined],
  ])('%s → %s', (sentence, kind, slot) => {
    expect(classify(sentence)).toEqual({ kind, ...(slot ? { slot } : {}) });
  });

  it.each([
    'Never mind.',
    "Don't worry about it.",
    'I love it!',
    'I like that idea.',
    'That sounds great!',
    'Can you help me?',
    'I want to know what you think.',
    'I used to live in Berlin.',
    'I went to a pottery class yesterday.',
    'I love that you chose pottery for your art.',
    "I'm lucky to have people like you to remind me.",
    "Don't forget to prepare emotionally.",
    'Never say never!',
    'Always here to help!',
    "Don't ever quit on what you love.",
  ])('%s → nothing', (sentence) => {
    expect(classify(sentence)).toBeUndefined();
  });
});

describe('extractStatements', () => {
  it('takes the user’s statements only, with their turn, date and speaker', () => {
    const out = extractStatements([
      turn(1, 'I prefer tea. We live in Lisbon.', 'assistant'),
      turn(2, 'Is it far? We live in Lisbon, near the river. I prefer trains.', 'user', 'Ada'),
      turn(3, `I prefer ${'very '.repeat(100)}long trains.`),
    ]);
    expect(out).toEqual([
      {
        kind: 'fact',
        content: 'Ada: We live in Lisbon, near the river.',
        sequences: [2],
        validFrom: '2024-05-02T10:00:00.000Z',
        slot: 'ada/self:residence',
      },
      { kind: 'preference', content: 'Ada: I prefer trains.', sequences: [2], validFrom: '2024-05-02T10:00:00.000Z' },
    ]);
  });
});

describe('planStatements', () => {
  const st = (content: string, sequence = 1) => extractStatements([turn(sequence, content)]);

  it('drops what repeats a current memory or an earlier statement', () => {
    const plan = planStatements(
      [
        ...st('I prefer window seats on long flights.'),
        ...st('I prefer window seats on flights.', 2),
        ...st('I prefer jazz.', 3),
      ],
      [memory('m1', 'Prefers window seats on long flights', { origin: 'written' })],
      ids,
    );
    expect(plan.inserts.map((i) => i.content)).toEqual(['I prefer jazz.']);
    expect(plan.ends).toEqual([]);
  });

  it('a new value of a slot supersedes the learned one, in the batch too; a written memory is never ended', () => {
    const plan = planStatements(
      [...st('We moved to Porto.', 1), ...st('We moved to Madrid.', 2)],
      [
        memory('lisbon', 'We live in Lisbon.', { slot: 'self:residence' }),
        memory('written', 'We live in Lisbon.', { slot: 'self:residence', origin: 'written' }),
      ],
      ids,
    );
    const [porto, madrid] = plan.inserts;
    expect(plan.ends).toEqual([{ id: 'lisbon', supersededBy: porto!.id, at: '2024-05-01T10:00:00.000Z' }]);
    expect(porto).toMatchObject({ validTo: '2024-05-02T10:00:00.000Z', supersededBy: madrid!.id });
    expect(madrid!.validTo).toBeUndefined();
  });

  it('a learned memory restated with more detail is superseded by the fuller one', () => {
    const plan = planStatements(
      st('My daughter Mira is allergic to peanuts and cashews.'),
      [memory('m', 'My daughter Mira is allergic to peanuts.')],
      ids,
    );
    expect(plan.inserts).toHaveLength(1);
    expect(plan.ends).toEqual([{ id: 'm', supersededBy: plan.inserts[0]!.id, at: '2024-05-01T10:00:00.000Z' }]);
  });
});

describe('checkOperations', () => {
  const batch = { turns: [turn(4, 'We moved to Porto.'), turn(5, 'Great!', 'assistant')] };
  const refs = [
    { ref: 'm1', memory: memory('lisbon', 'Lives in Lisbon') },
    { ref: 'm2', memory: memory('written', 'Vegan', { origin: 'written' }) },
  ];
  const op = (event: string, ref: string | null, text = 'Lives in Porto', source_turns = [4]) => ({
    event,
    ref,
    kind: 'fact',
    text,
    source_turns,
  });

  it('turns operations into a plan: UPDATE supersedes, DELETE closes, NONE keeps; written ones only gain', () => {
    const { plan } = checkOperations(
      { operations: [op('UPDATE', 'm1'), op('DELETE', 'm2'), op('NONE', 'm1'), op('UPDATE', 'm2', 'Vegetarian')] },
      batch,
      refs,
    );
    expect(plan!.inserts.map((i) => [i.content, i.sequences, i.validFrom])).toEqual([
      ['Lives in Porto', [4], '2024-05-04T10:00:00.000Z'],
      ['Vegetarian', [4], '2024-05-04T10:00:00.000Z'],
    ]);
    expect(plan!.ends).toEqual([{ id: 'lisbon', supersededBy: plan!.inserts[0]!.id, at: '2024-05-04T10:00:00.000Z' }]);
  });

  it.each([
    ['not an object', 'nope'],
    ['an unknown event', { operations: [op('MERGE', null)] }],
    ['a ref it was not shown', { operations: [op('UPDATE', 'm9')] }],
    ['a turn outside the batch', { operations: [op('ADD', null, 'Lives in Porto', [1])] }],
    ['no source turn', { operations: [op('ADD', null, 'Lives in Porto', [])] }],
    ['an empty text', { operations: [op('ADD', null, ' ')] }],
  ])('refuses %s', (_, answer) => {
    const checked = checkOperations(answer, batch, refs);
    expect(checked.plan).toBeUndefined();
    expect(checked.problem).toBeTruthy();
    expect(checked.problem).not.toContain('Porto');
  });
});
