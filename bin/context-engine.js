#!/usr/bin/env -S node --max-semi-space-size=64 --liftoff-only
// `context-engine <command>`: the compiled entry points of the package (dist/), chosen by the first argument.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const commands = {
  start: ['../dist/runtime/node/main.js', 'serve the API (embedded database in DATA_DIR unless DATABASE_URL is set)'],
  mcp: ['../dist/runtime/node/mcp-stdio.js', 'the MCP tools over stdio'],
  keys: ['../dist/runtime/node/keys-cli.js', 'create, list or revoke API keys: keys create --tenant <id>'],
  migrate: ['../dist/runtime/node/migrate.js', 'apply the migrations to the database'],
  report: ['../dist/runtime/node/report-cli.js', 'the strategy report: report strategies [--agent <id>]'],
};

const [command = 'start', ...rest] = process.argv.slice(2);
const entry = commands[command];
if (!entry) {
  const lines = Object.entries(commands).map(([name, [, what]]) => `  context-engine ${name.padEnd(8)} ${what}`);
  const help = command === 'help' || command === '--help' || command === '-h';
  (help ? console.log : console.error)(`usage:\n${lines.join('\n')}`);
  process.exit(help ? 0 : 2);
}
// In a checkout (the sources beside bin/, as after `git clone`), compile them first when dist/ is missing or older.
const stale = new URL('../scripts/build/stale.mjs', import.meta.url);
if (existsSync(new URL('../src/', import.meta.url)) && existsSync(stale)) {
  const { buildStale } = await import(stale.href);
  const build = fileURLToPath(new URL('../scripts/build/server.mjs', import.meta.url));
  if (buildStale()) execFileSync(process.execPath, [build, '--if-stale'], { stdio: 'inherit' });
}
// Compiled code of the modules is kept on disk (in the system's temporary directory) for the next start; Node ≥ 22.1,
// NODE_DISABLE_COMPILE_CACHE=1 turns it off.
module.enableCompileCache?.();
// The entry point reads its own arguments from process.argv, as when it is run directly.
process.argv = [process.argv[0], new URL(entry[0], import.meta.url).pathname, ...rest];
await import(entry[0]);
