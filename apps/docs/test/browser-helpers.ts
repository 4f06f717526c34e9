import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { chromiumAvailable, launchChromium, serveStatic } from './server.js';

// What the browser tests of the built site share (browser.test.ts, browser-demos.test.ts: two files, so that two
// test workers run them at once): the site served, Debian's Chromium, and helpers to drive the demos.

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '../dist');
const artifacts = path.resolve(here, '../../../test-artifacts/docs');
export const haveChromium = chromiumAvailable('docs browser tests');

let browser: Browser;
let site: { url: string; close(): Promise<void> };

/** Serves the built site and starts Chromium for the test file that calls it (before all its tests). */
export function useSite(): void {
  beforeAll(async () => {
    if (!haveChromium) return;
    if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error('apps/docs/dist is missing: run `pnpm build` (or `pnpm docs:build`) first');
    fs.mkdirSync(artifacts, { recursive: true });
    site = await serveStatic(dist);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });
}

/**
 * Opens a page, collecting console errors and failed requests. With `breakable`, setting `window.__breakNextRun`
 * makes the next explain request name a method no worker knows, so that the run fails in the worker.
 */
export async function open(pathname: string, { breakable = false } = {}): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  if (breakable) {
    await page.addInitScript(() => {
      const proto = Worker.prototype as unknown as { postMessage(message: unknown, ...rest: unknown[]): void };
      const post = proto.postMessage;
      proto.postMessage = function (this: Worker, message: unknown, ...rest: unknown[]) {
        const w = window as unknown as { __breakNextRun?: boolean };
        const m = message as { request?: { type?: string } } | null;
        if (w.__breakNextRun && m?.request?.type === 'explain') {
          w.__breakNextRun = false;
          message = { ...m, request: { ...m.request, method: 'no-such-method' } };
        }
        post.call(this, message, ...rest);
      };
    });
  }
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  const response = await page.goto(site.url + pathname, { waitUntil: 'load' });
  expect(response?.status(), pathname).toBe(200);
  return { page, errors };
}

/** How many distinct colours a canvas shows (a blank canvas shows one). */
export async function canvasColours(page: Page, selector: string): Promise<number> {
  return page.locator(selector).first().evaluate((canvas: HTMLCanvasElement) => {
    const { width, height } = canvas;
    const data = canvas.getContext('2d')?.getImageData(0, 0, width, height).data;
    const seen = new Set<number>();
    if (data) for (let i = 0; i < data.length; i += 4) seen.add((data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!);
    return seen.size;
  });
}

/** Picks a method (and a sample), runs, and waits for `done`. */
export async function run(page: Page, method: string, sample?: string): Promise<void> {
  if (sample !== undefined) await page.getByTestId('demo-sample').selectOption(sample);
  await page.getByTestId('demo-method').selectOption(method);
  await page.getByTestId('demo-run').click();
  await expect.poll(async () => (await page.getByTestId('demo-status').textContent())?.trim(), { timeout: 90_000, interval: 200 }).toMatch(/^(done|error: .*)$/);
  expect((await page.getByTestId('demo-status').textContent())?.trim(), method).toBe('done');
}

/** The status line, trimmed. */
export const statusOf = async (page: Page): Promise<string> => (await page.getByTestId('demo-status').textContent())?.trim() ?? '';
export const textOf = async (page: Page, id: string): Promise<string> => (await page.getByTestId(id).first().textContent())?.trim() ?? '';

/** Waits until the demo has loaded its model. */
export async function waitReady(page: Page): Promise<void> {
  await expect.poll(() => statusOf(page), { timeout: 90_000, interval: 200 }).toMatch(/^(ready|error: .*)$/);
  expect(await statusOf(page)).toBe('ready');
}

export const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
export const labels = (JSON.parse(fs.readFileSync(path.resolve(here, '../../../packages/conformance/fixtures/real/digits_cnn.samples.json'), 'utf8')) as { labels: number[] }).labels;

