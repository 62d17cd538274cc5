// The context inspector in headless Chromium: a person types a key, a session and a budget and sees the budget bar,
// the rendered context, the dropped items and the compaction timeline.
import path from 'node:path';
import { openPglite } from '../../src/adapters/store/pglite.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, launchChromium, listen, type LaunchedBrowser } from '../browser.js';
import { harness, tenant, turns3, type Client, type Harness } from '../helpers.js';

describe('context inspector', () => {
  let h: Harness;
  let web: Awaited<ReturnType<typeof listen>>;
  let chrome: LaunchedBrowser;
  let c: Client;

  beforeAll(async () => {
    h = await harness(() => openPglite());
    web = await listen(h.app.fetch);
    chrome = await launchChromium();
    c = await tenant(h);
    const filler = Array.from({ length: 30 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `Note ${i}: we compared neighbourhoods, tram lines and bakeries around the old town for quite a while.`,
    }));
    expect((await c.call('POST', '/v1/sessions/trip/turns', { turns: [...turns3, ...filler] })).status).toBe(201);
    // A compaction for the timeline: rebuild with a small window so the oldest turns fold into a summary.
    expect((await c.call('POST', '/v1/sessions/trip/rebuild', { strategy: 'summarize', max_tokens: 400 })).status).toBe(
      202,
    );
    await h.deps.queue.drain();
  }, 600_000);

  afterAll(async () => {
    await chrome?.close();
    await web?.close();
    await h?.close();
  });

  it('shows sections, the rendered context, dropped items and the compaction timeline', async () => {
    const page = await chrome.browser.newPage({ viewport: { width: 1280, height: 900 } });
    const external: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(web.url)) external.push(req.url());
    });
    const consoleErrors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(e.message));

    await page.goto(`${web.url}/inspect`);
    await expect(page.title()).resolves.toBe('Context inspector');
    await page.fill('#api-key', c.key);
    await page.fill('#session-id', 'trip');
    await page.fill('#budget', '300');
    await page.fill('#query', 'Where does Ada want to stay?');
    await page.click('#inspect');
    await page.waitForSelector('#results:not([hidden])', { timeout: 15_000 });

    // Budget bar: one row per section, in packing order, each with allotted and used.
    const sections = await page.$$eval('#budget-sections tbody tr', (rows) =>
      rows.map((r) => r.getAttribute('data-section')),
    );
    expect(sections).toEqual([
      'task_anchor',
      'hard_constraints',
      'recent_turns',
      'relevant_history',
      'past_sessions',
      'tool_findings',
      'retrieved_memory',
      'summary',
    ]);
    const budgetText = await page.textContent('#budget-sections');
    expect(budgetText).toContain('Task anchor');
    expect(budgetText).toContain('Recent turns');
    expect(await page.$$('#budget-total .seg')).not.toHaveLength(0);
    const widths = await page.$eval('#budget-sections tr[data-section="recent_turns"]', (row) => [
      parseFloat((row.querySelector('.allotted') as HTMLElement).style.width),
      parseFloat((row.querySelector('.used') as HTMLElement).style.width),
    ]);
    expect(widths[0]).toBeGreaterThan(0);
    expect(widths[1]).toBeGreaterThan(0);

    // Rendered context holds a turn's text, fenced as data.
    const rendered = await page.textContent('#rendered-text');
    expect(rendered).toContain('Lisbon');
    expect(rendered).toContain('<data');
    await page.click('#tab-messages');
    expect(await page.textContent('#rendered-messages')).toContain('system');

    // A 300-token budget cannot hold 33 turns: dropped items show their reason, score and the turn they were.
    const dropped = await page.$$eval('#dropped tbody tr', (rows) => rows.map((r) => r.textContent ?? ''));
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.some((row) => row.includes('over_budget') && row.includes('did not fit'))).toBe(true);
    expect(dropped.some((row) => /#\d+ (user|assistant): /.test(row))).toBe(true);

    // Compaction timeline from GET /v1/sessions/{id}/compactions.
    const timeline = await page.textContent('#compactions');
    expect(timeline).toMatch(/summarize\S* \(rebuild\) folded turns 1–\d+/);
    expect(timeline).toMatch(/→/);

    expect(await page.textContent('#status')).toMatch(/Context of \d+ tokens/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'inspector.png'), fullPage: true });
    expect(external).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  it('lists sessions, opens one, and links its context to the trace of that request', async () => {
    // A second session of a user, with a turn that would run script if it were shown as HTML.
    const hostile = '<img src=x onerror="window.__pwned=1"> tell me about trams';
    expect(
      (
        await c.call('POST', '/v1/sessions/tram%3Atour/turns', {
          user_id: 'ada',
          turns: [{ role: 'user', content: hostile }],
        })
      ).status,
    ).toBe(201);
    const page = await chrome.browser.newPage({ viewport: { width: 1280, height: 900 } });
    const consoleErrors: string[] = [];
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(`${web.url}/inspect`);
    await page.fill('#api-key', c.key);
    await page.click('#list-sessions');
    await page.waitForSelector('#sessions tbody tr');
    const listed = await page.$$eval('#sessions tbody tr', (rows) => rows.map((r) => r.getAttribute('data-session')));
    expect(listed).toEqual(['tram:tour', 'trip']);
    await page.fill('#filter-user', 'ada');
    await page.click('#list-sessions');
    await page.waitForFunction(() => document.querySelectorAll('#sessions tbody tr').length === 1);

    await page.click('#sessions tr[data-session="tram:tour"] button.open');
    await page.waitForSelector('#results:not([hidden])');
    expect(await page.inputValue('#session-id')).toBe('tram:tour');
    expect(await page.textContent('#rendered-text')).toContain('<img src=x');
    await page.click('#overview-facts a.trace-link');
    await page.waitForSelector('#trace-panel:not([hidden])');
    const steps = await page.$$eval('#trace-steps tbody tr', (rows) => rows.map((r) => r.getAttribute('data-step')));
    expect(steps).toEqual(expect.arrayContaining(['cache', 'retrieve', 'rank', 'plan', 'assemble']));
    expect(await page.textContent('#status')).toMatch(/Trace of request [0-9a-f-]{36}: \d+ steps/);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await page.screenshot({ path: path.join(ARTIFACTS, 'inspector-sessions.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  it('shows the API error code when the key is wrong or the session does not exist', async () => {
    const page = await chrome.browser.newPage();
    await page.goto(`${web.url}/inspect`);
    await page.fill('#api-key', 'ctx_not_a_key');
    await page.fill('#session-id', 'trip');
    await page.click('#inspect');
    await page.waitForSelector('#status.error');
    expect(await page.textContent('#status')).toContain('UNAUTHORIZED');

    await page.fill('#api-key', c.key);
    await page.fill('#session-id', 'no-such-session');
    await page.click('#inspect');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.includes('NOT_FOUND'));
    expect(await page.isHidden('#results')).toBe(true);
    await page.close();
  });

  it('serves only its own files, with a content security policy', async () => {
    const html = await h.app.request('/inspect');
    expect(html.status).toBe(200);
    expect(html.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect((await h.app.request('/inspect/inspector.js')).headers.get('content-type')).toContain('javascript');
    expect((await h.app.request('/inspect/..%2F..%2Fconfig.ts')).status).toBe(404);
    expect((await h.app.request('/inspect/constructor')).status).toBe(404);
  });
});
