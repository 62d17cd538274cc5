// Compiles the server (src/ → dist/) with esbuild: one bundle per command of bin/context-engine.js, with the
// packages it imports at start-up (hono, zod, drizzle …), so Node loads a handful of files instead of thousands of
// modules (ADR 0022). Files the server reads beside its modules are copied to the same depth as in src/.
// `node scripts/build/server.mjs`: build now. `--if-stale`: only when a source is newer than the last build (what
// `npm start` in a checkout runs first, see bin/context-engine.js), one process at a time.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { ranksAsJsonModule } from './ranks-json.mjs';
import { buildStale, root, sources, stamp } from './stale.mjs';

const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const lock = path.join(root, 'dist.build-lock');

/**
 * The commands' entry points (bin/context-engine.js), and the chunks they share or import on first use, all in one
 * folder at the depth of src/runtime/node, so a module's own URL (below) is the same relative path from any of them.
 */
const OUT = 'runtime/node';
const ENTRIES = {
  main: 'runtime/node/main',
  'mcp-stdio': 'mcp/stdio',
  'keys-cli': 'runtime/node/keys-cli',
  migrate: 'runtime/node/migrate',
  'report-cli': 'runtime/node/report-cli',
};

/**
 * Left to node_modules: packages imported only on first use or only when configured (PostgreSQL, Redis, pg-boss,
 * OpenAI, MCP, the API reference, OpenTelemetry), and PGlite, which reads its WASM and data files beside itself.
 */
const EXTERNAL = [
  '@electric-sql/pglite',
  'pg',
  'pg-boss',
  'ioredis',
  '@neondatabase/serverless',
  'openai',
  '@modelcontextprotocol/sdk',
  '@modelcontextprotocol/sdk/*',
  '@scalar/*',
  '@opentelemetry/*',
];

/**
 * A module bundled into a file beside `outfile` keeps its own location for `import.meta.url` (files it reads relative
 * to itself: migrations/, assets/, the inspector page, PGlite's init script): the URL of its compiled path in dist/.
 */
const ownUrls = (outfile) => ({
  name: 'own-urls',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const contents = readFileSync(args.path, 'utf8');
      if (!args.path.startsWith(src) || !contents.includes('import.meta.url')) return undefined;
      const compiled = path.join(dist, path.relative(src, args.path)).replace(/\.ts$/, '.js');
      const url = `new URL(${JSON.stringify(path.relative(path.dirname(outfile), compiled))}, import.meta.url).href`;
      return { contents: contents.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
});

/** The tokenizer's rank tables as JSON (see ranks-json.mjs). */
const ranksAsJson = {
  name: 'ranks-as-json',
  setup(build) {
    build.onLoad({ filter: /gpt-tokenizer[\\/]esm[\\/]bpeRanks[\\/]\w+\.js$/ }, async (args) => ({
      contents: await ranksAsJsonModule(args.path),
      loader: 'js',
    }));
  },
};

async function build() {
  const startedAt = new Date();
  const esbuild = await import('esbuild');
  const files = sources();
  const result = await esbuild.build({
    entryPoints: Object.entries(ENTRIES).map(([out, entry]) => ({
      in: path.join(src, `${entry}.ts`),
      out: `${OUT}/${out}`,
    })),
    outdir: dist,
    // Modules imported with import() stay in chunks of their own, loaded when first imported, with their packages.
    splitting: true,
    chunkNames: `${OUT}/chunk-[hash]`,
    bundle: true,
    external: EXTERNAL,
    format: 'esm',
    platform: 'node',
    target: 'node20.18',
    // Bundled CommonJS packages call require() for Node's modules.
    banner: {
      js: "import { createRequire as __ceRequire } from 'node:module'; const require = __ceRequire(import.meta.url);",
    },
    plugins: [ownUrls(path.join(dist, OUT, 'main.js')), ranksAsJson],
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((f) => path.resolve(root, f));
  const copied = files.filter((f) => !f.endsWith('.ts')).map((f) => path.join(dist, path.relative(src, f)));
  for (const file of copied) {
    mkdirSync(path.dirname(file), { recursive: true });
    cpSync(path.join(src, path.relative(dist, file)), file);
  }
  // Files of an earlier build that this one did not write (dist/worker is the Worker bundle's).
  const kept = new Set([...outputs, ...copied, stamp]);
  for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (entry.isFile() && !kept.has(file) && !file.startsWith(path.join(dist, 'worker'))) rmSync(file);
  }
  // The stamp carries the time the build started: a source saved during the build makes the next start build again.
  writeFileSync(stamp, '');
  utimesSync(stamp, startedAt, startedAt);
}

/** Waits for another process's build (a lock directory), then builds if the sources are still newer. */
async function buildIfStale() {
  if (!buildStale()) return;
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // A lock left by a build that was killed: older than any build takes.
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 60_000) rmSync(lock, { force: true, recursive: true });
      if (Date.now() > deadline) throw new Error(`${lock} is held by another build; remove it if none is running`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    if (buildStale()) {
      console.error('context-engine: compiling src/ to dist/ …');
      await build();
    }
  } finally {
    rmSync(lock, { force: true, recursive: true });
  }
}

if (process.argv.includes('--if-stale')) await buildIfStale();
else {
  // A full build starts from an empty dist/ (except the Worker bundle).
  for (const entry of existsSync(dist) ? readdirSync(dist) : [])
    if (entry !== 'worker') rmSync(path.join(dist, entry), { recursive: true, force: true });
  await build();
}
