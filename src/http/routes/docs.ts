// GET /docs: the API reference (Scalar) over /openapi.json, with Scalar's bundled script served at /docs/scalar.js so
// it works offline; where that file cannot be read (Workers has no disk) the page loads it from the CDN.
import type { App } from '../app.js';
import { errorResponse } from '../errors.js';
import { packageFileUrl, readStaticFile } from '../static-files.js';

const SCRIPT_PATH = '/docs/scalar.js';

let scriptFile: URL | undefined | null = null;
function scalarScript(): Uint8Array | undefined {
  if (scriptFile === null) scriptFile = packageFileUrl('@scalar/api-reference/browser/standalone.js');
  return scriptFile ? readStaticFile(scriptFile) : undefined;
}

export const registerDocs = (app: App) => {
  app.get(SCRIPT_PATH, (c) => {
    const script = scalarScript();
    if (!script)
      return errorResponse(
        c.get('requestId'),
        'NOT_FOUND',
        'the bundled Scalar script is not available in this runtime',
      );
    return c.body(script as Uint8Array<ArrayBuffer>, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=86400',
    });
  });

  // Scalar's page builder loads on the first /docs request, not with the API.
  let page: Promise<ReturnType<typeof import('@scalar/hono-api-reference').Scalar>> | undefined;
  const docsPage = () =>
    (page ??= import('@scalar/hono-api-reference').then(({ Scalar }) =>
      Scalar(() => ({
        url: '/openapi.json',
        pageTitle: 'Context engine API',
        ...(scalarScript() ? { cdn: SCRIPT_PATH } : {}),
        // Nothing may leave the machine: no web fonts, no telemetry, no hosted AI chat or toolbar services.
        withDefaultFonts: false,
        telemetry: false,
        hideClientButton: true,
        showToolbar: 'never',
        showDeveloperTools: 'never',
        agent: { disabled: true },
        authentication: { preferredSecurityScheme: 'bearer' },
      })),
    ));
  app.get('/docs', async (c, next) => {
    const handler = await docsPage();
    return handler(c as unknown as Parameters<typeof handler>[0], next);
  });
};
