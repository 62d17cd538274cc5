// Files the app serves from disk (the inspector page, Scalar's script). Node's modules come from
// process.getBuiltinModule so this also loads in Workers, where there is no disk and the files read as undefined.

interface NodeFs {
  readFileSync(path: URL | string): Uint8Array;
}
interface NodeModule {
  createRequire(from: string | URL): { resolve(specifier: string): string };
}
interface NodeUrl {
  pathToFileURL(path: string): URL;
}

function builtin<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    return proc?.getBuiltinModule?.(id) as T | undefined;
  } catch {
    return undefined;
  }
}

const cache = new Map<string, Uint8Array | undefined>();

/** The bytes of a file, read once and kept; undefined where there is no file system or no such file. */
export function readStaticFile(url: URL): Uint8Array | undefined {
  const key = url.href;
  if (cache.has(key)) return cache.get(key);
  let bytes: Uint8Array | undefined;
  try {
    bytes = builtin<NodeFs>('node:fs')?.readFileSync(url);
  } catch {
    bytes = undefined;
  }
  cache.set(key, bytes);
  return bytes;
}

/** Where an installed package's file is, resolved from this module like an import would be. */
export function packageFileUrl(specifier: string): URL | undefined {
  const mod = builtin<NodeModule>('node:module');
  const url = builtin<NodeUrl>('node:url');
  if (!mod || !url) return undefined;
  try {
    return url.pathToFileURL(mod.createRequire(import.meta.url).resolve(specifier));
  } catch {
    return undefined;
  }
}
