// Where evidence is missed across sessions (`npm run eval:diagnose -- --cross-session`): each question asked from a
// new session as the cross-session protocol asks it, each evidence turn looked up in the ranked list of the user's
// history that QueryContext packed from.
import { rankHistory, retrieve } from '../../src/pipeline/retriever/index.js';
import { QueryContextBody } from '../../src/schemas/context.js';
import { createApiKey } from '../../src/services/auth.js';
import { requireSession } from '../../src/services/sessions.js';
import { getTokenizer } from '../../src/tokenizer.js';
import { locomoCrossSessionCase, type Conversation } from './locomo.js';
import { inSession, queryProduct, writeStep, type Product } from './product.js';
import { scoreContext } from './score.js';

/** Rank buckets of a missed evidence turn that was a candidate (0 is the first place). */
export const rankBuckets = [20, 40, 80, 160] as const;

export interface AcrossBudget {
  budget: number;
  /** Evidence turns asked for, and those shown. */
  evidence: number;
  shown: number;
  /** Missed and never a candidate. */
  notCandidate: number;
  /** Missed candidates by rank: below 20, 40, 80, 160, and the rest. */
  ranked: number[];
  /** Per question: candidates ranked, and the deepest place in that order whose text the context holds (-1: none). */
  candidates: number[];
  reach: number[];
}

/** Writes each conversation as the cross-session protocol does and traces every question's evidence at each budget. */
export async function diagnoseAcross(
  product: Product,
  convs: readonly Conversation[],
  budgets: readonly number[],
  progress: (line: string) => void = () => undefined,
): Promise<AcrossBudget[]> {
  const out = budgets.map(
    (budget): AcrossBudget => ({
      budget,
      evidence: 0,
      shown: 0,
      notCandidate: 0,
      ranked: new Array(rankBuckets.length + 1).fill(0),
      candidates: [],
      reach: [],
    }),
  );
  const tok = await getTokenizer();
  const count = (text: string) => tok.count(text);
  for (const [i, conv] of convs.entries()) {
    const c = locomoCrossSessionCase(conv);
    const contentOf = new Map(conv.turns.map((t) => [t.diaId, t.content]));
    const tenantId = `diagnose-across-${i}`;
    const { key } = await createApiKey(product.deps, { tenantId });
    const own = { key, sessionId: c.sessionId };
    const ctx = { ...product.deps, tenantId, requestId: 'diagnose' };
    let k = 0;
    for (const step of c.steps) {
      if ('write' in step) {
        await writeStep(product, own, step);
        continue;
      }
      await product.deps.queue.drain();
      const q = conv.questions[k++]!;
      const asked = inSession(own, step.probe.session!);
      const session = await requireSession(ctx, asked.sessionId);
      for (const b of out) {
        const answer = await queryProduct(product, asked, q.question, b.budget);
        const found = await retrieve(
          ctx,
          session,
          QueryContextBody.parse({ query: q.question, budget_tokens: b.budget }),
        );
        const ranked = await rankHistory(ctx, found);
        let reach = -1;
        ranked.forEach((r, at) => {
          if (answer.text.includes(r.candidate.turn.content)) reach = at;
        });
        b.candidates.push(ranked.length);
        b.reach.push(reach);
        // Shown as the eval scores it (an answer over budget shows nothing).
        const { missed } = scoreContext(
          answer.text,
          { evidence: q.evidence.map((id) => contentOf.get(id)!), answer: q.answer },
          b.budget,
          count,
        );
        for (const id of q.evidence) {
          b.evidence += 1;
          const at = ranked.findIndex((r) => r.candidate.turn.external_id === id);
          if (!missed.includes(contentOf.get(id)!)) b.shown += 1;
          else if (at < 0) b.notCandidate += 1;
          else {
            const bucket = rankBuckets.findIndex((limit) => at < limit);
            b.ranked[bucket < 0 ? rankBuckets.length : bucket]! += 1;
          }
        }
      }
    }
    progress(`[diagnose] ${conv.name} done`);
  }
  return out;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
};

/** The report as text: per budget, what was shown, and where the missed evidence was. */
export function formatAcross(report: readonly AcrossBudget[]): string {
  const names = rankBuckets.map((limit, i) => `${i === 0 ? 0 : rankBuckets[i - 1]}–${limit - 1}`);
  names.push(`${rankBuckets.at(-1)}+`);
  return report
    .map((b) => {
      const missed = b.evidence - b.shown;
      const pct = ((100 * b.shown) / Math.max(1, b.evidence)).toFixed(1);
      const ranks = b.ranked.map((n, i) => `${names[i]} ${n}`).join(', ');
      return [
        `@${b.budget}: ${b.shown}/${b.evidence} evidence turns shown (${pct} %, unweighted); ${missed} missed`,
        `  never a candidate ${b.notCandidate}; ranked ${ranks}`,
        `  candidates per question (median) ${median(b.candidates)}; deepest rank the context holds (median) ${median(b.reach)}, at most ${Math.max(-1, ...b.reach)}`,
      ].join('\n');
    })
    .join('\n');
}
