// The context inspector in workerd: its files come from the ASSETS binding, under /inspect only, with its headers.
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';

const get = (path: string) => SELF.fetch(`https://context.test${path}`);

describe('the inspector on Workers', () => {
  it('serves the page and its files with the content security policy', async () => {
    const page = await get('/inspect');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const html = await page.text();
    expect(html).toContain('<title>Context inspector</title>');
    expect(html).toContain('id="sessions-panel"');
    const script = await get('/inspect/inspector.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect(await script.text()).toContain("api(key, 'GET', `/v1/sessions?${params}`)");
    expect((await get('/inspect/inspector.css')).status).toBe(200);
  });

  it('serves nothing else of the assets folder, and not outside /inspect', async () => {
    for (const path of ['/inspect/nope.js', '/inspect/..%2Fapp.ts', '/inspector.js', '/index.html']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    }
  });
});
