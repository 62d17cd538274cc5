// Compiles the server (src/ → dist/, the same depth) and copies the files it reads beside its modules.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const dist = path.join(root, 'dist');
// The Worker bundle (`npm run build:worker`) lives in dist/worker and is not part of this build.
for (const entry of existsSync(dist) ? readdirSync(dist) : [])
  if (entry !== 'worker') rmSync(path.join(dist, entry), { recursive: true, force: true });
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
cpSync(path.join(root, 'src'), dist, {
  recursive: true,
  filter: (from) => !from.endsWith('.ts') && !from.startsWith(path.join(root, 'src/client')),
});
