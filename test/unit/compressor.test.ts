import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { compress } from '../../src/pipeline/compressor/index.js';
import { summarizeExtractive } from '../../src/pipeline/compressor/extractive.js';
import { keepImportant } from '../../src/pipeline/compressor/importance.js';
import { truncateHeadTail } from '../../src/pipeline/compressor/truncate.js';
import { getTokenizer } from '../../src/tokenizer.js';

const logger = createLogger('silent');

describe('truncation (head + tail)', () => {
  it('keeps both ends, marks the cut and fits the limit', async () => {
    const tok = await getTokenizer();
    const text = `START ${'filler words that say little '.repeat(80)} END`;
    for (const limit of [30, 60, 200]) {
      const out = truncateHeadTail(text, limit, tok);
      expect(tok.count(out)).toBeLessThanOrEqual(limit);
      expect(out.startsWith('START')).toBe(true);
      expect(out.endsWith('END')).toBe(true);
      expect(out).toMatch(/tokens cut/);
    }
  });

  it('cuts exactly as re-encoding the text for every attempt would, multi-byte text included', async () => {
    const tok = await getTokenizer();
    // The cut as it reads by definition: the head and the tail of the whole text, each encoded from scratch.
    const reference = (text: string, maxTokens: number) => {
      const total = tok.count(text);
      if (total <= maxTokens) return text;
      for (let room = maxTokens; room > 0; room--) {
        const marker = ` […${total - room} tokens cut…] `;
        const body = room - tok.count(marker);
        if (body <= 0) return tok.truncate(text, maxTokens);
        const head = Math.ceil(body * 0.6);
        const out = tok.truncate(text, head) + marker + tok.tail(text, body - head);
        if (tok.count(out) <= maxTokens) return out;
      }
      return '';
    };
    const texts = [`{"result": ${JSON.stringify('naïve café — 東京 and 北京 🚀 '.repeat(40))}}`, 'ab'.repeat(500), 'x'];
    for (const text of texts) {
      for (const limit of [1, 5, 12, 30, 90]) {
        const out = truncateHeadTail(text, limit, tok);
        expect(out).toBe(reference(text, limit));
        expect(tok.count(out)).toBeLessThanOrEqual(limit);
        expect(out).not.toContain('\uFFFD');
      }
    }
  });

  it('returns short text unchanged', async () => {
    const tok = await getTokenizer();
    expect(truncateHeadTail('tiny text', 50, tok)).toBe('tiny text');
  });
});

describe('extractive summary', () => {
  it('prefers sentences with names and numbers, keeps order, fits the limit', async () => {
    const tok = await getTokenizer();
    const utterances = [
      { speaker: 'user', text: 'Hi there. How are you today?' },
      { speaker: 'assistant', text: 'I am fine, thanks for asking.' },
      { speaker: 'user', text: 'Book flight TP1351 from Lisbon to Berlin on 2024-05-12 for 2 adults.' },
      { speaker: 'assistant', text: 'Okay. Sounds good.' },
      { speaker: 'user', text: 'My reservation number is ZX9QPL and the budget is 450 euros.' },
    ];
    const out = summarizeExtractive(utterances, 45, tok);
    expect(tok.count(out)).toBeLessThanOrEqual(45);
    expect(out).toContain('TP1351');
    expect(out).toContain('ZX9QPL');
    expect(out.indexOf('TP1351')).toBeLessThan(out.indexOf('ZX9QPL'));
    expect(out).not.toContain('Sounds good');
  });
});

describe('importance strategy', () => {
  it('drops chit-chat before facts', async () => {
    const tok = await getTokenizer();
    const out = keepImportant(
      [
        { speaker: 'a', text: 'ok', importance: 0.5 },
        { speaker: 'b', text: 'Invoice 8812 for Acme is due on 3 March, total 1200 USD.', importance: 0.5 },
        { speaker: 'a', text: 'cool', importance: 0.5 },
      ],
      25,
      tok,
    );
    expect(out).toContain('8812');
    expect(out).not.toMatch(/^a: ok$/m);
  });
});

describe('compress()', () => {
  it('falls back to the extractive summary when the LLM fails', async () => {
    const tokenizer = await getTokenizer();
    const llm = {
      model: 'broken',
      summarize: async () => {
        throw new Error('timeout');
      },
    };
    const out = await compress(
      'summarize',
      { previousSummary: '', turns: [{ speaker: 'u', text: 'Order 5521 shipped to Porto.', importance: 0.5 }] },
      50,
      { tokenizer, llm, logger },
    );
    expect(out.method).toBe('summarize:extractive');
    expect(out.text).toContain('5521');
  });

  it('uses the LLM output when it answers, capped to the limit', async () => {
    const tokenizer = await getTokenizer();
    const llm = {
      model: 'fake-model',
      summarize: async (text: string) => `SUMMARY of ${text.length} chars ${'x '.repeat(500)}`,
    };
    const out = await compress(
      'summarize',
      { previousSummary: 'before', turns: [{ speaker: 'u', text: 'hello', importance: 0.5 }] },
      40,
      { tokenizer, llm, logger },
    );
    expect(out.method).toBe('summarize:llm');
    expect(out.model).toBe('fake-model');
    expect(out.text.startsWith('SUMMARY of')).toBe(true);
    expect(tokenizer.count(out.text)).toBeLessThanOrEqual(40);
  });
});
