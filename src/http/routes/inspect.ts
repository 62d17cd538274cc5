// GET /inspect: the context inspector, a static page that calls the API from the browser with a key the user types.
// Only the page's own files are served (a fixed list); without a disk (Workers) they answer 404.
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

export const registerInspect = (app: App) => {
  const serve = (name: string, requestId: string) => {
    const type = files.get(name);
    const url = type ? URL.parse(`../inspector/${name}`, import.meta.url) : null;
    const body = url ? readStaticFile(url) : undefined;
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
  app.get('/inspect', (c) => serve('index.html', c.get('requestId')));
  app.get('/inspect/:file', (c) => serve(c.req.param('file'), c.get('requestId')));
};
