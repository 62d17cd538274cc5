// eval:diagnose --cross-session on the three-session fixture: every evidence turn is accounted for once, and what it
// counts as shown is what the cross-session eval scores for the same questions and budgets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnoseAcross, formatAcross, type AcrossBudget } from '../../scripts/eval/diagnose-across.js';
import { runEval } from '../../scripts/eval/harness.js';
import { locomoCrossSessionCase, parseConversation } from '../../scripts/eval/locomo.js';
import { startProduct, type Product } from '../../scripts/eval/product.js';
import { crossSessionConversation as fixture } from '../fixtures/locomo.js';

const conv = parseConversation(fixture, 'conv-d');
const budgets = [60, 1000];

describe('eval:diagnose --cross-session', () => {
  let product: Product;
  let report: AcrossBudget[];

  beforeAll(async () => {
    product = await startProduct({ rateLimit: false });
    report = await diagnoseAcross(product, [conv], budgets);
  }, 120_000);

  afterAll(async () => {
    await product?.close();
  });

  it('accounts for every evidence turn once: shown, never a candidate, or missed at a rank', () => {
    for (const b of report) {
      expect(b.evidence).toBe(3);
      expect(b.shown + b.notCandidate + b.ranked.reduce((x, y) => x + y, 0)).toBe(b.evidence);
      expect(b.candidates).toHaveLength(conv.questions.length);
      expect(b.reach).toHaveLength(conv.questions.length);
    }
  });

  it('counts as shown what the cross-session eval scores at the same budgets', async () => {
    const scored = await runEval({
      suite: 'locomo-cross-session',
      cases: [locomoCrossSessionCase(conv)],
      budgets,
      categories: [],
    });
    for (const b of report) {
      const row = scored.results.find(
        (r) => r.method === 'product' && r.budget === b.budget && r.category === undefined,
      )!;
      // One evidence turn per question: the unweighted share is the eval's recall.
      expect(b.shown / b.evidence).toBeCloseTo(row.evidence_recall, 5);
    }
    expect(report.find((b) => b.budget === 1000)!.shown).toBe(3);
  }, 120_000);

  it('reports each budget on three lines', () => {
    const text = formatAcross(report);
    expect(text).toMatch(/^@60: \d\/3 evidence turns shown/m);
    expect(text).toMatch(/^@1000: 3\/3 evidence turns shown \(100\.0 %, unweighted\); 0 missed$/m);
    expect(text.split('\n')).toHaveLength(6);
  });
});
