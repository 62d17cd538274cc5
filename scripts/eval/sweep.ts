// npm run eval:sweep -- --data <locomo dir> [--budget 2000,4000] --variant 'history.seedsMax=150' --variant '…'
// Compares retrieval settings on LoCoMo written once; prints evidence recall per category and QueryContext latency.
import { parseArgs } from 'node:util';
import { defaults } from '../../src/config/tuning.js';
import { defaultWeights } from '../../src/pipeline/retriever/rank.js';
import { getTokenizer } from '../../src/tokenizer.js';
import { locomoCase, studyConversations, studyOptions } from './locomo.js';
import { parseBudgets } from './main.js';
import { queryProduct, startProduct, writeCase } from './product.js';
import { percentile, scoreContext } from './score.js';

type Settings = Record<string, Record<string, unknown>>;

/**
 * Applies one variant: `defaults` settings of src/config/tuning.ts as `section.key=value` or ranking weights as
 * `rank.key=value`, several joined by commas (the empty variant is the current settings). Returns its undo.
 */
function apply(variant: string): () => void {
  const undo: (() => void)[] = [];
  for (const part of variant
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [keyPath, raw] = part.split('=') as [string, string];
    const [section, key] = keyPath.split('.') as [string, string];
    const target =
      section === 'rank'
        ? (defaultWeights as unknown as Record<string, unknown>)
        : (defaults as unknown as Settings)[section];
    if (!target || !(key in target)) throw new Error(`unknown setting ${keyPath}`);
    const before = target[key];
    target[key] = typeof before === 'number' ? Number(raw) : typeof before === 'boolean' ? raw === 'true' : raw;
    undo.push(() => (target[key] = before));
  }
  return () => undo.reverse().forEach((u) => u());
}

async function main() {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      ...studyOptions,
      variant: { type: 'string', multiple: true, default: [''] },
    },
  });
  const budgets = parseBudgets(values.budget!);
  const convs = await studyConversations(values);
  const tok = await getTokenizer();
  const count = (t: string) => tok.count(t);
  // Several variants ask more than the per-key limit allows in a minute.
  const product = await startProduct({ rateLimit: false });
  try {
    const cases = [];
    for (const [i, conv] of convs.entries()) {
      const c = locomoCase(conv);
      const tenantId = `sweep-${i}`;
      const s = await writeCase(product, c, tenantId);
      cases.push({ s, tenantId, probes: c.steps.flatMap((st) => ('probe' in st ? [st.probe] : [])) });
    }
    for (const variant of values.variant!) {
      const undo = apply(variant);
      for (const c of cases) await product.deps.cache.deletePrefix(`ctx:${c.tenantId}:`);
      const lines: string[] = [];
      for (const budget of budgets) {
        const recall = new Map<string, number[]>();
        const ms: number[] = [];
        let over = 0;
        for (const c of cases) {
          for (const p of c.probes) {
            const a = await queryProduct(product, c.s, p.query, budget);
            ms.push(a.ms);
            const sc = scoreContext(a.text, { evidence: p.expected, answer: p.answer }, budget, count);
            if (sc.overBudget) over += 1;
            for (const k of ['all', `c${p.category}`]) {
              let l = recall.get(k);
              if (!l) recall.set(k, (l = []));
              l.push(sc.evidenceRecall);
            }
          }
        }
        const pct = (k: string) => {
          const l = recall.get(k) ?? [];
          return ((100 * l.reduce((a, b) => a + b, 0)) / Math.max(1, l.length)).toFixed(1);
        };
        lines.push(
          `  @${budget}: ${pct('all')} % (c1 ${pct('c1')}, c2 ${pct('c2')}, c3 ${pct('c3')}, c4 ${pct('c4')}), over ${over}, ` +
            `p50 ${percentile(ms, 50).toFixed(1)} ms, p95 ${percentile(ms, 95).toFixed(1)} ms`,
        );
      }
      console.log(`variant ${JSON.stringify(variant)}\n${lines.join('\n')}`);
      undo();
    }
  } finally {
    await product.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[sweep] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
