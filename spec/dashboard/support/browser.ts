import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';

/** Debian's chromium; browser tests skip, saying so, where it is missing. */
export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

export interface Browser {
  page: Page;
  context: BrowserContext;
  /** Uncaught errors on the page. */
  errors: string[];
  close(): Promise<void>;
}

/** Headless chromium with a fresh profile, closed (and its profile removed) by `close()`. */
export async function openBrowser(viewport = { width: 1440, height: 1000 }): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'pw-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    viewport,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return {
    page,
    context,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Polls an attribute of the first element matching `selector` (shadow roots pierced). */
export async function waitForAttr(
  page: Page,
  selector: string,
  attr: string,
  pred: (value: string | null) => boolean,
  timeoutMs = 10_000,
): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  let value: string | null = null;
  while (Date.now() < deadline) {
    value = await page
      .locator(selector)
      .first()
      .getAttribute(attr, { timeout: 1000 })
      .catch(() => null);
    if (pred(value)) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `timed out waiting for ${selector}[${attr}]; last value ${JSON.stringify(value)}`,
  );
}

/** A fresh page in an open browser, with its own list of uncaught errors. */
export async function newPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return { page, errors };
}

export interface CanvasStats {
  /** Pixels that are not fully transparent. */
  inked: number;
  /** Distinct colours among the inked pixels (capped at 1000). */
  colours: number;
  /** A checksum of the pixels: changes when what is drawn changes. */
  hash: number;
}

/** What a canvas (found by a locator that pierces shadow roots) holds, read in the page. */
export async function canvasStats(page: Page, selector: string): Promise<CanvasStats> {
  return page
    .locator(selector)
    .first()
    .evaluate((el) => {
      const c = el as HTMLCanvasElement;
      const data = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
      let inked = 0;
      let hash = 0;
      const colours = new Set<number>();
      for (let i = 0; data && i < data.length; i += 4) {
        if (data[i + 3] === 0) continue;
        inked++;
        const v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
        if (colours.size < 1000) colours.add(v);
        hash = (Math.imul(hash, 31) + v + i) | 0;
      }
      return { inked, colours: colours.size, hash };
    });
}
