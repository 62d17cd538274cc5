import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFolder, parseConversation, parseSessionDate, turnContent } from '../../scripts/eval/locomo.js';

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
