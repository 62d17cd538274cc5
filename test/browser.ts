// Headless Chromium for browser tests: Debian's package (installed by scripts/ensure-chromium.sh when missing, since
// Playwright's own browser download cannot work on a closed network), driven by playwright-core.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(import.meta.dirname, '.artifacts');

export function ensureChromium(): void {
  execFileSync('bash', [path.resolve(import.meta.dirname, '../scripts/ensure-chromium.sh')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

export interface LaunchedBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Starts Chromium with the flags this machine needs: no sandbox as root, and no background calls to Google.
 * Playwright gives each launch a new empty profile.
 */
export async function launchChromium(): Promise<LaunchedBrowser> {
  ensureChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    close: () => browser.close(),
  };
}

/** Serves a fetch handler on 127.0.0.1 at a free port. */
export async function listen(
  fetch: (req: Request) => Response | Promise<Response>,
): Promise<{ url: string; server: ServerType; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        server,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
