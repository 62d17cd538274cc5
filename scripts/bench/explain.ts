// npx tsx scripts/bench/explain.ts --db <dir> [--turns 100000] [--queries 3] [--budget 2000] [--plans] [--setup <sql>]
// EXPLAIN (ANALYZE, BUFFERS) of the statements one QueryContext sends on a kept bench session, with the scans they use.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { loadCorpus } from './data.js';
import { openKeptStore, readKept, recordingStore, sessionOf, sqlText, statementLabel } from './kept.js';
import { askContext, startProduct } from './product.js';
import { round } from './stats.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ScanNode {
  kind: string;
  index?: string;
  table: string;
  ms?: number;
  rows?: number;
  loops?: number;
}

/** The scan nodes of a text plan: how each table is read, with actual time (of all loops) and rows. */
export function scans(plan: string[]): ScanNode[] {
  const out: ScanNode[] = [];
  for (const line of plan) {
    const m =
      line.match(/(Index Only Scan|Index Scan)(?: Backward)? using (\S+) on (\S+)/) ??
      line.match(/(Bitmap Index Scan) on (\S+)()/) ??
      line.match(/(Seq Scan|Bitmap Heap Scan|Function Scan) on (\S+)/);
    if (!m) continue;
    const actual = line.match(/actual time=[\d.]+\.\.([\d.]+) rows=([\d.]+) loops=(\d+)/);
    const [, kind, a, b] = m as unknown as [string, string, string, string];
    const node: ScanNode = kind.startsWith('Index')
      ? { kind, index: a, table: b }
      : kind === 'Bitmap Index Scan'
        ? { kind, index: a, table: '' }
        : { kind, table: a };
    if (actual) {
      node.loops = Number(actual[3]);
      node.ms = Number(actual[1]) * node.loops;
      node.rows = Number(actual[2]);
    }
    out.push(node);
  }
  return out;
}

const describe = (s: ScanNode) =>
  `${s.kind}${s.index ? ` ${s.index}` : ''}${s.table ? ` on ${s.table}` : ''}${s.loops !== undefined ? ` (${s.loops} loop${s.loops === 1 ? '' : 's'}, ${s.rows} rows/loop, ${round(s.ms ?? 0)} ms)` : ''}`;

async function main(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      db: { type: 'string' },
      turns: { type: 'string', default: '100000' },
      queries: { type: 'string', default: '3' },
      budget: { type: 'string', default: '2000' },
      data: { type: 'string' },
      plans: { type: 'boolean', default: false },
      setup: { type: 'string', multiple: true, default: [] },
    },
    strict: true,
  });
  if (!values.db) throw new Error('--db <dir> is required (a directory written by `npm run bench -- --keep-db <dir>`)');
  const db = path.resolve(values.db);
  const kept = await readKept(db);
  const s = sessionOf(kept, Number(values.turns));
  const corpus = await loadCorpus(path.resolve(values.data ?? path.join(projectRoot, '../shared/benchmarks/locomo')));
  const store = recordingStore(await openKeptStore(db, kept));
  const running = await startProduct({ store, database: kept.database ?? undefined });
  const print = (t: string) => process.stdout.write(`${t}\n`);
  try {
    for (const statement of values.setup!) {
      const t0 = performance.now();
      await store.query(sql.raw(statement));
      print(`setup: ${statement} (${round(performance.now() - t0)} ms)\n`);
    }
    // A first query outside the sample: loads the tokenizer and warms the database's buffers.
    await askContext(
      running.app,
      s.key,
      s.sessionId,
      corpus.questions[corpus.questions.length - 1]!,
      Number(values.budget),
    );
    print(`## EXPLAIN (ANALYZE, BUFFERS), ${s.turns.toLocaleString('en-US')}-turn session, ${store.dialect}\n`);
    for (const question of corpus.questions.slice(0, Number(values.queries))) {
      store.recorded.length = 0;
      store.recording = true;
      const answer = await askContext(running.app, s.key, s.sessionId, question, Number(values.budget));
      store.recording = false;
      print(`### "${question}" (QueryContext ${round(answer.ms)} ms, ${store.recorded.length} statements)\n`);
      print('| statement | ms in the request | execution time (EXPLAIN ANALYZE) | scans |');
      print('|---|---:|---:|---|');
      const plans: string[] = [];
      for (const r of [...store.recorded]) {
        const text = sqlText(store, r.statement).sql;
        const label = statementLabel(text);
        const rows = await store.query<Record<string, string>>(sql`EXPLAIN (ANALYZE, BUFFERS) ${r.statement}`);
        const plan = rows.map((row) => String(Object.values(row)[0]));
        const exec = plan.find((l) => l.startsWith('Execution Time'))?.match(/([\d.]+) ms/)?.[1];
        print(`| ${label} | ${round(r.ms)} | ${exec ?? '?'} ms | ${scans(plan).map(describe).join('; ') || '–'} |`);
        plans.push(`#### ${label}\n\n\`\`\`sql\n${text}\n\`\`\`\n\n\`\`\`\n${plan.join('\n')}\n\`\`\`\n`);
      }
      print('');
      if (values.plans) print(plans.join('\n'));
      values.plans = false; // full plans for the first question only; the rest show the summary rows
    }
  } finally {
    await running.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`[explain] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
