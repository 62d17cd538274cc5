// GET /docs works offline: Scalar's script comes from this server, and the page renders the API in Chromium without
// a single request leaving the machine.
import path from 'node:path';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, launchChromium, listen, type LaunchedBrowser } from '../browser.js';
import { harness, type Harness } from '../helpers.js';

describe('API reference at /docs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(() => openPglite());
  });
  afterAll(async () => h.close());

  it('loads Scalar from this server, not a CDN', async () => {
    const page = await h.app.request('/docs');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<script src="/docs/scalar.js"></script>');
    expect(html).toContain('"url": "/openapi.json"');
    expect(html).not.toMatch(/https?:\/\//);
    const script = await h.app.request('/docs/scalar.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect(await script.text()).toContain('createApiReference');
  });

  describe('in Chromium', () => {
    let web: Awaited<ReturnType<typeof listen>>;
    let chrome: LaunchedBrowser;
    beforeAll(async () => {
      web = await listen(h.app.fetch);
      chrome = await launchChromium();
    }, 600_000);
    afterAll(async () => {
      await chrome?.close();
      await web?.close();
    });

    it('renders the operations with no request leaving the machine', async () => {
      const page = await chrome.browser.newPage();
      const external: string[] = [];
      page.on('request', (req) => {
        const url = req.url();
        if (!url.startsWith(web.url) && !url.startsWith('data:') && !url.startsWith('blob:')) external.push(url);
      });
      await page.goto(`${web.url}/docs`);
      await page.waitForFunction(
        () =>
          ['Context engine API', 'Write turns, optionally answered with the next context'].every((t) =>
            document.body.innerText.includes(t),
          ),
        undefined,
        { timeout: 30_000 },
      );
      const text = await page.evaluate(() => document.body.innerText);
      expect(text).toContain('Compaction audit timeline');
      expect(text).not.toContain('Ask AI');
      await page.screenshot({ path: path.join(ARTIFACTS, 'docs.png') });
      expect(external).toEqual([]);
      await page.close();
    });
  });
});
