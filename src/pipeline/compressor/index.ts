// Compression: one entry point, pluggable strategies. `summarize` uses the LLM when one is configured and falls back
// to the extractive summary when it is absent, slow or failing.
import type { Logger } from '../../logger.js';
import type { Llm } from '../../ports.js';
import type { Tokenizer } from '../../tokenizer.js';
import { escapeFence } from '../fence.js';
import { summarizeExtractive, type Utterance } from './extractive.js';
import { keepImportant } from './importance.js';
import { truncateHeadTail } from './truncate.js';

export const strategies = ['summarize', 'truncate', 'importance'] as const;
export type Strategy = (typeof strategies)[number];

export interface CompressInput {
  previousSummary: string;
  turns: (Utterance & { importance: number })[];
}

export interface CompressOutput {
  text: string;
  /** What actually ran: `summarize:llm`, `summarize:extractive`, `truncate` or `importance`. */
  method: string;
  model?: string;
}

export async function compress(
  strategy: Strategy,
  input: CompressInput,
  maxTokens: number,
  deps: { tokenizer: Tokenizer; llm: Llm | undefined; logger: Logger },
): Promise<CompressOutput> {
  const tok = deps.tokenizer;
  // A speaker is a turn's name: one line without fence markers, so it cannot start a forged line of the summary.
  const utterances: (Utterance & { importance: number })[] = [
    ...(input.previousSummary ? [{ speaker: 'Earlier summary', text: input.previousSummary, importance: 1 }] : []),
    ...input.turns.map((t) => ({ ...t, speaker: escapeFence(t.speaker, true) })),
  ];
  const transcript = utterances.map((u) => `${u.speaker}: ${u.text}`).join('\n');
  switch (strategy) {
    case 'truncate':
      return { text: truncateHeadTail(transcript, maxTokens, tok), method: 'truncate' };
    case 'importance':
      return { text: keepImportant(utterances, maxTokens, tok), method: 'importance' };
    case 'summarize': {
      if (deps.llm) {
        try {
          const text = await deps.llm.summarize(transcript, maxTokens);
          return { text: truncateHeadTail(text, maxTokens, tok), method: 'summarize:llm', model: deps.llm.model };
        } catch (err) {
          deps.logger.warn('llm summary failed, using extractive', { error: (err as Error).message });
        }
      }
      return { text: summarizeExtractive(utterances, maxTokens, tok), method: 'summarize:extractive' };
    }
  }
}
