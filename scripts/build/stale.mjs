// Whether dist/ is older than the server's sources or its installed packages (bin/context-engine.js checks this in a checkout before starting).
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../..');
export const stamp = path.join(root, 'dist', '.built');

/** The files of src/ that make the server (the client package is built on its own). */
export function sources() {
  const src = path.join(root, 'src');
  return readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !path.relative(src, e.parentPath).startsWith('client'))
    .map((e) => path.join(e.parentPath, e.name));
}

/**
 * Stale when a source, the build scripts or the installed packages changed after the last build (an `npm install`
 * rewrites node_modules/.package-lock.json).
 */
export function buildStale() {
  const built = statSync(stamp, { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return true;
  const build = readdirSync(import.meta.dirname).map((f) => path.join(import.meta.dirname, f));
  const installed = [path.join(root, 'package.json'), path.join(root, 'node_modules', '.package-lock.json')];
  return [...sources(), ...build, ...installed].some(
    (file) => (statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) > built,
  );
}
