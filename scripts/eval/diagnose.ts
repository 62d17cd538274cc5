// npm run eval:diagnose -- --data <locomo dir> [--budget 2000,4000] [--limit-conversations N] [--examples N]
//   [--cross-session]
// Why evidence is missed: asks every LoCoMo question and retraces each missed evidence turn to say where it was lost;
// with --cross-session, each question asked from a new session of the user (see diagnose-across.ts).
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { defaults } from '../../src/config/tuning.js';
import { rankRelevant } from '../../src/pipeline/retriever/relevant.js';
import { parseBudgets } from './main.js';
import { locomoCase, studyConversations, studyOptions } from './locomo.js';
import { queryProduct, startProduct, writeCase } from './product.js';
import { retraceable } from './retrace.js';
import { diagnoseAcross, formatAcross } from './diagnose-across.js';

/**
 * Where a missed evidence turn was lost:
 *   no-match     it shares no query lexeme (prefixes included) and was not seeded by meaning;
 *   capped       it matches a query lexeme, but only beyond that lexeme's per-term cap of newest matches;
 *   not-seed     it was among the matches, yet neither a seed nor a seed's neighbour;
 *   name-only    the same, and the only query lexemes it matches are participants' names;
 *   ranked-low   it was ranked, but below what the budget could hold;
 *   dropped      it was ranked within reach of the budget and still not packed (planner, duplicates).
 */
const reasons = ['no-match', 'capped', 'not-seed', 'name-only', 'ranked-low', 'dropped'] as const;
type Reason = (typeof reasons)[number];

async function main() {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      ...studyOptions,
      examples: { type: 'string', default: '0' },
      'cross-session': { type: 'boolean', default: false },
    },
  });
  const budgets = parseBudgets(values.budget!);
  const convs = await studyConversations(values);
  if (values['cross-session']) {
    const product = await startProduct({ rateLimit: false });
    try {
      const report = await diagnoseAcross(product, convs, budgets, (line) => process.stderr.write(`${line}\n`));
      console.log(formatAcross(report));
    } finally {
      await product.close();
    }
    return;
  }
  const examples = Number(values.examples);
  const product = await startProduct();
  const { store } = product.deps;
  const counts = new Map<string, number>();
  const add = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  const shown: string[] = [];
  // Distance (in turns, same day) from a no-match evidence turn to the nearest turn that was packed.
  const nearPacked = new Map<string, number>();

  try {
    for (const [ci, conv] of convs.entries()) {
      const c = locomoCase(conv);
      const tenantId = `diag-${ci}`;
      const s = await writeCase(product, c, tenantId);
      const retrace = await retraceable(product, tenantId, c.sessionId);
      const turnRows = await store.query<{ sequence: number; external_id: string; created_at: string }>(sql`
        SELECT sequence, external_id, created_at FROM turns WHERE tenant_id = ${tenantId} AND session_id = ${c.sessionId}`);
      const seqOf = new Map(turnRows.map((r) => [r.external_id, Number(r.sequence)]));
      const dayOf = new Map(
        turnRows.map((r) => [Number(r.sequence), new Date(r.created_at).toISOString().slice(0, 10)]),
      );
      const contentOf = new Map(conv.turns.map((t) => [t.diaId, t.content]));

      for (const q of conv.questions) {
        for (const budget of budgets) {
          const answer = await queryProduct(product, s, q.question, budget);
          add(`evidence@${budget}`);
          const missed = q.evidence.filter((id) => !answer.text.includes(contentOf.get(id)!));
          for (let k = 0; k < q.evidence.length - missed.length; k++) add(`found@${budget}`);
          for (let k = 1; k < q.evidence.length; k++) add(`evidence@${budget}`);
          if (missed.length === 0) continue;

          const input = await retrace(q.question, budget);
          const ranked = await rankRelevant(input);
          const packed = new Set(
            turnRows
              .filter((r) => answer.text.includes(contentOf.get(r.external_id) ?? '\u0000'))
              .map((r) => Number(r.sequence)),
          );
          // Where the budget ran out in the ranked list: just past the lowest-ranked turn packed as relevant history
          // (the newest turns are placed whatever their rank).
          const retrieved = new Set(answer.retrieved);
          let reach = 0;
          ranked.forEach((r, i) => {
            if (retrieved.has(r.candidate.sequence)) reach = i + 1;
          });
          const lexemes = input.terms.map((t) => t.lexeme);
          const speakers = new Set(input.candidates.flatMap((x) => x.speakerLexemes));
          for (const id of missed) {
            const seq = seqOf.get(id)!;
            const cand = input.candidates.find((x) => x.sequence === seq);
            const rank = ranked.findIndex((r) => r.candidate.sequence === seq);
            let reason: Reason;
            let detail = '';
            if (cand) {
              // Every candidate is ranked (ADR 0014): it is placed within reach or not.
              if (rank >= reach) reason = 'ranked-low';
              else reason = 'dropped';
              detail = `rank ${rank} of ${ranked.length} (reach ${reach})${cand.seed ? ' seed' : ''}`;
            } else {
              const matching = lexemes.length
                ? await store.query<{ lexeme: string; newer: number }>(sql`
                    SELECT l.lexeme, (SELECT count(*) FROM turns u WHERE u.tenant_id = ${tenantId} AND u.session_id = ${c.sessionId}
                      AND u.sequence > ${seq} AND u.tsv @@ (quote_literal(l.lexeme) || CASE WHEN length(l.lexeme) >= 4 THEN ':*' ELSE '' END)::tsquery)::int AS newer
                    FROM unnest(${`{${lexemes.map((l) => `"${l.replace(/"/g, '\\"')}"`).join(',')}}`}::text[]) AS l(lexeme), turns t
                    WHERE t.tenant_id = ${tenantId} AND t.session_id = ${c.sessionId} AND t.sequence = ${seq}
                      AND t.tsv @@ (quote_literal(l.lexeme) || CASE WHEN length(l.lexeme) >= 4 THEN ':*' ELSE '' END)::tsquery`)
                : [];
              if (matching.length === 0) reason = 'no-match';
              else if (matching.every((m) => m.newer >= defaults.history.matchesPerTerm)) reason = 'capped';
              else if (matching.every((m) => speakers.has(m.lexeme))) reason = 'name-only';
              else reason = 'not-seed';
              detail = `matches ${matching.map((m) => m.lexeme).join(',') || '-'}`;
              if (reason === 'no-match') {
                let d = Infinity;
                for (const p of packed) if (dayOf.get(p) === dayOf.get(seq)) d = Math.min(d, Math.abs(p - seq));
                const bucket =
                  d <= 2
                    ? '≤2'
                    : d <= 5
                      ? '3-5'
                      : d <= 15
                        ? '6-15'
                        : Number.isFinite(d)
                          ? '>15 same day'
                          : 'day not shown';
                nearPacked.set(`${budget} ${bucket}`, (nearPacked.get(`${budget} ${bucket}`) ?? 0) + 1);
              }
            }
            add(`${reason}@${budget}`);
            add(`${reason}@${budget}/c${q.category}`);
            if (shown.length < examples && budget === budgets[budgets.length - 1])
              shown.push(
                `[${reason}] c${q.category} ${q.question}\n    ${id}: ${contentOf.get(id)!.slice(0, 140)}\n    ${detail}; terms ${lexemes.join(' ')}`,
              );
          }
        }
      }
      process.stderr.write(`[diagnose] ${conv.name} done\n`);
    }
  } finally {
    await product.close();
  }

  for (const budget of budgets) {
    const evidence = counts.get(`evidence@${budget}`) ?? 0;
    const found = counts.get(`found@${budget}`) ?? 0;
    console.log(
      `@${budget}: ${found}/${evidence} evidence turns found (${((100 * found) / evidence).toFixed(1)} %, unweighted)`,
    );
    for (const r of reasons) {
      const per = [1, 2, 3, 4].map((cat) => `c${cat} ${counts.get(`${r}@${budget}/c${cat}`) ?? 0}`).join(', ');
      console.log(`  ${r.padEnd(11)} ${String(counts.get(`${r}@${budget}`) ?? 0).padStart(4)}  (${per})`);
    }
    const near = [...nearPacked]
      .filter(([k]) => k.startsWith(`${budget} `))
      .map(([k, v]) => `${k.slice(String(budget).length + 1)}: ${v}`);
    console.log(`  no-match, distance to the nearest packed turn of the same day: ${near.join(', ')}`);
  }
  if (shown.length) console.log(`\n${shown.join('\n')}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`[diagnose] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
