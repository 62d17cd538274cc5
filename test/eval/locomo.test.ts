import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { limits } from '../../src/config/tuning.js';
import { runEvalCli } from './run-cli.js';
import {
  loadFolder,
  locomoCase,
  locomoCrossSessionCase,
  parseConversation,
  parseSessionDate,
  turnContent,
} from '../../scripts/eval/locomo.js';

describe('parseSessionDate', () => {
  it('reads LoCoMo session dates as UTC instants', () => {
    expect(parseSessionDate('1:56 pm on 8 May, 2023')).toBe('2023-05-08T13:56:00.000Z');
    expect(parseSessionDate('10:37 am on 27 June, 2023')).toBe('2023-06-27T10:37:00.000Z');
    expect(parseSessionDate('9:05 PM on 1 Jan, 2024')).toBe('2024-01-01T21:05:00.000Z');
  });

  it('maps 12 am to midnight and 12 pm to noon', () => {
    expect(parseSessionDate('12:09 am on 13 September, 2023')).toBe('2023-09-13T00:09:00.000Z');
    expect(parseSessionDate('12:20 pm on 8 December, 2023')).toBe('2023-12-08T12:20:00.000Z');
  });

  it('reads ISO 8601 dates and date-times, honouring a zone when one is given', () => {
    expect(parseSessionDate('2023-05-08')).toBe('2023-05-08T00:00:00.000Z');
    expect(parseSessionDate('2023-05-08 13:56')).toBe('2023-05-08T13:56:00.000Z');
    expect(parseSessionDate('2023-05-08T13:56:07Z')).toBe('2023-05-08T13:56:07.000Z');
    expect(parseSessionDate('2023-05-08T13:56:07.250Z')).toBe('2023-05-08T13:56:07.000Z');
    expect(parseSessionDate('2023-05-08T01:30:00+02:00')).toBe('2023-05-07T23:30:00.000Z');
    expect(parseSessionDate('2023-05-08T22:00-0330')).toBe('2023-05-09T01:30:00.000Z');
  });

  it('reads the slashed form with a weekday, with or without a time', () => {
    expect(parseSessionDate('2023/05/20 (Sat) 02:21')).toBe('2023-05-20T02:21:00.000Z');
    expect(parseSessionDate('2023/5/2 14:05')).toBe('2023-05-02T14:05:00.000Z');
    expect(parseSessionDate('2023/05/20')).toBe('2023-05-20T00:00:00.000Z');
  });

  it('rejects days and times that do not exist in every form', () => {
    expect(() => parseSessionDate('2023-02-30')).toThrow(/invalid day/);
    expect(() => parseSessionDate('2023/13/01 (Mon) 10:00')).toThrow(/invalid day/);
    expect(() => parseSessionDate('2023-05-08T24:10')).toThrow(/invalid time/);
    expect(() => parseSessionDate('2023/05/08 10:61')).toThrow(/invalid time/);
    expect(() => parseSessionDate('08/05/2023')).toThrow(/unrecognised session date/);
  });

  it('rejects what is not a date rather than guessing', () => {
    expect(() => parseSessionDate('yesterday')).toThrow(/unrecognised session date/);
    expect(() => parseSessionDate('1:00 pm on 31 June, 2023')).toThrow(/invalid day/);
    expect(() => parseSessionDate('13:00 pm on 1 June, 2023')).toThrow(/invalid time/);
    expect(() => parseSessionDate('1:00 pm on 1 Juntember, 2023')).toThrow(/month/);
  });
});

describe('turnContent', () => {
  it('appends the image caption the way it is written and searched for', () => {
    expect(turnContent('Look at this!', 'a photo of a dog')).toBe('Look at this! [photo: a photo of a dog]');
    expect(turnContent('Plain.', undefined)).toBe('Plain.');
    expect(turnContent('Plain.', '  ')).toBe('Plain.');
    expect(turnContent('', 'a cat')).toBe('[photo: a cat]');
  });
});

const fixture = {
  speaker_a: 'Ann',
  speaker_b: 'Bo',
  session_2_date_time: '3:00 pm on 2 March, 2023',
  session_2: [{ speaker: 'Bo', dia_id: 'D2:1', text: 'Later.' }],
  session_1_date_time: '9:15 am on 1 March, 2023',
  session_1: [
    { speaker: 'Ann', dia_id: 'D1:1', text: 'Hi Bo.' },
    { speaker: 'Bo', dia_id: 'D1:2', text: 'See my garden.', img_url: ['x'], blip_caption: 'a photo of roses' },
  ],
  session_3_date_time: '4:00 pm on 3 March, 2023',
  qa: [
    { question: 'What grows?', answer: 'roses', evidence: ['D1:2'], category: 4 },
    { question: 'When?', answer: 2023, evidence: ['D2:1', 'D:9'], category: 2 },
    { question: 'Trick?', adversarial_answer: 'x', evidence: ['D1:1'], category: 5 },
    { question: 'Nothing?', answer: 'n/a', evidence: [], category: 3 },
    { question: 'Typo only?', answer: 'n/a', evidence: ['D1:1; D1:2'], category: 1 },
  ],
};

describe('parseConversation', () => {
  it('orders sessions by number, stamps turns with their session date and keeps captions', () => {
    const c = parseConversation(fixture, 'tiny');
    expect(c.sessions.map((s) => s.index)).toEqual([1, 2]);
    expect(c.turns.map((t) => t.diaId)).toEqual(['D1:1', 'D1:2', 'D2:1']);
    expect(c.turns[1]).toEqual({
      diaId: 'D1:2',
      speaker: 'Bo',
      content: 'See my garden. [photo: a photo of roses]',
      sessionDate: '9:15 am on 1 March, 2023',
      createdAt: '2023-03-01T09:15:00.000Z',
    });
    expect(c.turns[2]!.createdAt).toBe('2023-03-02T15:00:00.000Z');
    expect([c.speakerA, c.speakerB]).toEqual(['Ann', 'Bo']);
  });

  it('scores categories 1–4 only, skips evidence ids that name no turn and notes questions left without any', () => {
    const c = parseConversation(fixture, 'tiny');
    expect(c.questions.map((q) => q.question)).toEqual(['What grows?', 'When?']);
    expect(c.questions[1]).toMatchObject({ answer: '2023', evidence: ['D2:1'], missingEvidence: ['D:9'] });
    expect(c.unscorable).toBe(2);
  });

  it('gives every turn a distinct id: evidence names the first turn holding one, none is dropped', () => {
    const c = parseConversation(
      {
        speaker_a: 'Ann',
        speaker_b: 'Bo',
        session_1_date_time: '2023-03-01',
        session_1: [
          { speaker: 'Ann', dia_id: 'D1:1', text: 'First.' },
          { speaker: 'Bo', dia_id: 'D1:1', text: 'Same id again.' },
          { speaker: 'Ann', text: 'No id.' },
          { speaker: 'Bo', dia_id: 7, text: 'A number.' },
        ],
        qa: [
          { question: 'Which?', answer: 'first', evidence: ['D1:1', '7'], category: 4 },
          { question: '  ', answer: 'x', evidence: ['D1:1'], category: 4 },
          { answer: 'x', evidence: ['D1:1'], category: 4 },
        ],
      },
      'dup',
    );
    expect(c.turns.map((t) => [t.diaId, t.content])).toEqual([
      ['D1:1', 'First.'],
      ['D1:1#2', 'Same id again.'],
      ['session_1#3', 'No id.'],
      ['7', 'A number.'],
    ]);
    expect(c.questions.map((q) => [q.question, q.evidence])).toEqual([['Which?', ['D1:1', '7']]]);
    expect(c.unscorable).toBe(2);
  });

  it('accepts the original {conversation, qa} layout', () => {
    const { qa, ...conversation } = fixture;
    const c = parseConversation({ sample_id: 's', conversation, qa }, 'wrapped');
    expect(c.turns).toHaveLength(3);
    expect(c.questions).toHaveLength(2);
  });

  it('refuses files that are not conversations', () => {
    expect(() => parseConversation({ hello: 1 }, 'x')).toThrow(/not a LoCoMo conversation/);
  });
});

describe('a session longer than one write request', () => {
  const n = limits.turnsPerBatch * 2 + 3;
  const long = {
    speaker_a: 'Ann',
    speaker_b: 'Bo',
    session_1_date_time: '2023-03-01 09:00',
    session_1: Array.from({ length: n }, (_, i) => ({
      speaker: i % 2 ? 'Bo' : 'Ann',
      dia_id: `D1:${i + 1}`,
      text: `Line ${i + 1}.`,
    })),
    session_2_date_time: '2023/03/02 (Thu) 10:00',
    session_2: [{ speaker: 'Bo', dia_id: 'D2:1', text: 'Next day.' }],
    qa: [{ question: 'Which line?', answer: 'last', evidence: [`D1:${n}`], category: 4 }],
  };
  const writes = (steps: ReturnType<typeof locomoCase>['steps']) => steps.flatMap((s) => ('write' in s ? [s] : []));

  it('is written in order in writes the product accepts, under its own label', () => {
    const steps = writes(locomoCase(parseConversation(long, 'long')).steps);
    expect(steps.map((s) => [s.label, s.write.length])).toEqual([
      ['session_1', limits.turnsPerBatch],
      ['session_1', limits.turnsPerBatch],
      ['session_1', 3],
      ['session_2', 1],
    ]);
    expect(steps.flatMap((s) => s.write.map((t) => t.write.external_id))).toEqual([
      ...long.session_1.map((t) => t.dia_id),
      'D2:1',
    ]);
  });

  it('runs through --cross-session end to end: the last turn of the long session is recalled', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'locomo-long-'));
    try {
      const data = {
        ...long,
        session_1: long.session_1.map((t, i) => (i === n - 1 ? { ...t, text: 'The secret word is marmalade.' } : t)),
      };
      data.qa = [{ question: 'What is the secret word?', answer: 'marmalade', evidence: [`D1:${n}`], category: 4 }];
      await writeFile(path.join(dir, 'long.json'), JSON.stringify(data));
      const { json } = await runEvalCli(
        ['--cross-session', '--data', dir, '--budget', '1000'],
        path.join(dir, 'out.json'),
      );
      const product = json.results.find(
        (r: { method: string; budget: number; category?: unknown }) =>
          r.method === 'product' && r.budget === 1000 && r.category === undefined,
      );
      expect(product).toMatchObject({ questions: 1, evidence_recall: 1, over_budget: 0, leaks: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('stays one product session across sessions', () => {
    const steps = writes(locomoCrossSessionCase(parseConversation(long, 'long')).steps).filter((s) => !s.foreign);
    const own = steps.filter((s) => s.label.startsWith('session_'));
    expect(new Set(own.slice(0, 3).map((s) => s.session))).toEqual(new Set(['long-session_1']));
    expect(own[3]!.session).toBe('long-session_2');
  });
});

describe('loadFolder', () => {
  it('loads every .json file in name order, single conversations and arrays alike', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'locomo-'));
    try {
      await writeFile(path.join(dir, 'b.json'), JSON.stringify(fixture));
      const { qa, ...conversation } = fixture;
      await writeFile(path.join(dir, 'a.json'), JSON.stringify([{ sample_id: 'first', conversation, qa }, fixture]));
      await writeFile(path.join(dir, 'notes.txt'), 'ignored');
      const all = await loadFolder(dir);
      expect(all.map((c) => c.name)).toEqual(['first', 'a#2', 'b']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
