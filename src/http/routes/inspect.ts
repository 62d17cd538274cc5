// GET /inspect: the context inspector, a static page that calls the API from the browser with a key the user types.
// Only the page's own files are served (a fixed list): from disk on Node, from the ASSETS binding on Workers.
import type { App } from '../app.js';
import { errorResponse } from '../errors.js';
import { readStaticFile } from '../static-files.js';

const files = new Map([
  ['index.html', 'text/html; charset=utf-8'],
  ['inspector.js', 'text/javascript; charset=utf-8'],
  ['inspector.css', 'text/css; charset=utf-8'],
]);

// The page handles API keys: it may talk only to this origin and run only its own script.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The Workers static-assets binding (wrangler.toml `[assets]`, the inspector's folder); absent on Node. */
interface Assets {
  fetch(request: Request): Promise<Response>;
}

async function fileBytes(name: string, assets: Assets | undefined): Promise<Uint8Array | undefined> {
  if (assets) {
    const res = await assets.fetch(new Request(`https://assets.local/${name}`));
    return res.ok ? new Uint8Array(await res.arrayBuffer()) : undefined;
  }
  const url = URL.parse(`../inspector/${name}`, import.meta.url);
  return url ? readStaticFile(url) : undefined;
}

export const registerInspect = (app: App) => {
  const serve = async (name: string, requestId: string, env: unknown) => {
    const type = files.get(name);
    const assets = (env as { ASSETS?: Assets } | undefined)?.ASSETS;
    const body = type ? await fileBytes(name, assets) : undefined;
    if (!type || !body) return errorResponse(requestId, 'NOT_FOUND', `no inspector file "${name}"`);
    return new Response(body as Uint8Array<ArrayBuffer>, {
      headers: {
        'content-type': type,
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-cache',
        'x-request-id': requestId,
      },
    });
  };
  app.get('/inspect', (c) => serve('index.html', c.get('requestId'), c.env));
  app.get('/inspect/:file', (c) => serve(c.req.param('file'), c.get('requestId'), c.env));
};
