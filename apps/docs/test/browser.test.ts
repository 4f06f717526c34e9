import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic } from './server.js';

// The built site (`pnpm build` builds it) in Debian's Chromium: every page renders, and every live demo runs an
// attribution in its Web Worker, draws a non-blank picture and predicts a known sample right, with no console
// errors. Screenshots go to test-artifacts/docs/. CI (`.ci/run`) installs Chromium; elsewhere, without it, the
// suite says so and skips.

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '../dist');
const artifacts = path.resolve(here, '../../../test-artifacts/docs');
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium (apt-get install -y chromium)`);
  console.warn(`docs browser tests skipped: ${CHROMIUM} is not installed (apt-get install -y chromium)`);
}

let browser: Browser;
let site: { url: string; close(): Promise<void> };

beforeAll(async () => {
  if (!haveChromium) return;
  if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error('apps/docs/dist is missing: run `pnpm build` (or `pnpm docs:build`) first');
  fs.mkdirSync(artifacts, { recursive: true });
  site = await serveStatic(dist);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
});

/** Opens a page, collecting console errors and failed requests. */
async function open(pathname: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
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
async function canvasColours(page: Page, selector: string): Promise<number> {
  return page.locator(selector).first().evaluate((canvas: HTMLCanvasElement) => {
    const { width, height } = canvas;
    const data = canvas.getContext('2d')?.getImageData(0, 0, width, height).data;
    const seen = new Set<number>();
    if (data) for (let i = 0; i < data.length; i += 4) seen.add((data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!);
    return seen.size;
  });
}

/** Picks a method (and a sample), runs, and waits for `done`. */
async function run(page: Page, method: string, sample?: string): Promise<void> {
  if (sample !== undefined) await page.getByTestId('demo-sample').selectOption(sample);
  await page.getByTestId('demo-method').selectOption(method);
  await page.getByTestId('demo-run').click();
  await expect.poll(async () => (await page.getByTestId('demo-status').textContent())?.trim(), { timeout: 90_000, interval: 200 }).toMatch(/^(done|error: .*)$/);
  expect((await page.getByTestId('demo-status').textContent())?.trim(), method).toBe('done');
}

const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
const labels = (JSON.parse(fs.readFileSync(path.resolve(here, '../../../packages/conformance/fixtures/real/digits_cnn.samples.json'), 'utf8')) as { labels: number[] }).labels;

describe.runIf(haveChromium)('the docs site in Chromium', () => {
  it('renders every guide page', async () => {
    for (const pathname of ['/', '/getting-started.html', '/concepts.html', '/backends.html', '/pretrained-tfjs.html', '/extending.html', '/onnx.html', '/exporting-onnx.html', '/onnx-operators.html', '/cli.html', '/performance.html', '/security.html', '/methods/README.html', '/methods/integrated-gradients.html', '/layer-attribution.html', '/neuron-attribution.html', '/metrics.html', '/visualize.html', '/text-generation.html', '/api/index.html']) {
      const { page, errors } = await open(pathname);
      expect((await page.locator('h1').first().textContent())?.length ?? 0, pathname).toBeGreaterThan(0);
      expect(errors, pathname).toEqual([]);
      await page.close();
    }
  }, 120_000);

  for (const [demo, methods] of [
    ['digits', ['integrated-gradients', 'saliency', 'noise-tunnel', 'occlusion', 'layer-grad-cam', 'deep-lift']],
    ['digits-tfjs', ['integrated-gradients', 'saliency']],
  ] as const) {
    it(`demos/${demo}: predicts the sample and draws every method's heat map`, async () => {
      const { page, errors } = await open(`/demos/${demo}.html`);
      for (const [k, method] of methods.entries()) {
        const sample = String(k % 4);
        await run(page, method, sample);
        expect(await page.getByTestId('demo-prediction').textContent(), method).toMatch(new RegExp(`^\\s*${labels[k % 4]} \\((0|1)\\.\\d+\\)`));
        expect(await canvasColours(page, '[data-testid="demo-canvas"]'), method).toBeGreaterThan(2);
        await shot(page, `${demo}-${method}`);
      }
      expect(errors).toEqual([]);
      await page.close();
    }, 240_000);
  }

  it('demos/tabular: a bar chart of the 30 features whose sum matches the score difference', async () => {
    const { page, errors } = await open('/demos/tabular.html');
    for (const method of ['integrated-gradients', 'kernel-shap', 'shapley-value-sampling', 'feature-ablation']) {
      await run(page, method, '0');
      expect(await page.getByTestId('demo-prediction').textContent(), method).toMatch(/malignant/);
      expect(await page.getByTestId('demo-chart').locator('svg g.bar').count(), method).toBeGreaterThanOrEqual(10);
      await shot(page, `tabular-${method}`);
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

  it('demos/text: the tiny GPT-2 answers "paris" and Feature Ablation draws the token heat map', async () => {
    const { page, errors } = await open('/demos/text.html');
    expect(await page.getByTestId('demo-prompt').inputValue()).toBe('the capital of france is');
    await expect.poll(async () => (await page.getByTestId('demo-status').textContent())?.trim(), { timeout: 90_000, interval: 200 }).toMatch(/^(ready|error: .*)$/);
    await run(page, 'feature-ablation');
    expect((await page.getByTestId('demo-answer').textContent())?.trim()).toBe('paris');
    const heatMap = page.getByTestId('demo-heatmap').locator('svg');
    expect(await heatMap.count()).toBe(1);
    // One row per answer token (paris, [EOS]) and one column per prompt token (the capital of france is).
    expect(await heatMap.textContent()).toMatch(/france/);
    expect(await heatMap.textContent()).toMatch(/\[EOS\]/);
    expect(await page.getByTestId('demo-bars').locator('svg').count()).toBe(1);
    await shot(page, 'text-feature-ablation');
    // A failing run replaces the result with its error.
    await page.getByTestId('demo-prompt').fill('   ');
    await page.getByTestId('demo-run').click();
    await expect.poll(async () => (await page.getByTestId('demo-status').textContent())?.trim(), { timeout: 30_000, interval: 200 }).toMatch(/^error: /);
    expect(await page.getByTestId('demo-heatmap').locator('svg').count()).toBe(0);
    expect((await page.getByTestId('demo-answer').textContent())?.trim()).toBe('–');
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

  it('demos/explorer: a heat map for every example of the batch', async () => {
    const { page, errors } = await open('/demos/explorer.html');
    await page.getByTestId('demo-method').selectOption('saliency');
    await page.getByTestId('demo-run').click();
    await expect.poll(async () => (await page.getByTestId('demo-status').textContent())?.trim(), { timeout: 120_000, interval: 250 }).toBe('done');
    const canvases = page.getByTestId('demo-canvas');
    expect(await canvases.count()).toBeGreaterThanOrEqual(20);
    expect(await canvasColours(page, '[data-testid="demo-canvas"]')).toBeGreaterThan(2);
    await shot(page, 'explorer-saliency');
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);
});
