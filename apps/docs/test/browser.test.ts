import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium, serveStatic } from './server.js';

// The built site (`pnpm build` builds it) in Debian's Chromium: every page renders, and every live demo runs an
// attribution in its Web Worker, draws a non-blank picture and predicts a known sample right, with no console
// errors. Screenshots go to test-artifacts/docs/. CI (`.ci/run`) installs Chromium; elsewhere, without it, the
// suite says so and skips.

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '../dist');
const artifacts = path.resolve(here, '../../../test-artifacts/docs');
const haveChromium = chromiumAvailable('docs browser tests');

let browser: Browser;
let site: { url: string; close(): Promise<void> };

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

/**
 * Opens a page, collecting console errors and failed requests. With `breakable`, setting `window.__breakNextRun`
 * makes the next explain request name a method no worker knows, so that the run fails in the worker.
 */
async function open(pathname: string, { breakable = false } = {}): Promise<{ page: Page; errors: string[] }> {
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

/** The status line, trimmed. */
const statusOf = async (page: Page): Promise<string> => (await page.getByTestId('demo-status').textContent())?.trim() ?? '';
const textOf = async (page: Page, id: string): Promise<string> => (await page.getByTestId(id).first().textContent())?.trim() ?? '';

/** Waits until the demo has loaded its model. */
async function waitReady(page: Page): Promise<void> {
  await expect.poll(() => statusOf(page), { timeout: 90_000, interval: 200 }).toMatch(/^(ready|error: .*)$/);
  expect(await statusOf(page)).toBe('ready');
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
      if (demo === 'digits') {
        // The provider that ran: WebAssembly here, or WebGPU's build where the browser exposes navigator.gpu.
        const gpu = await page.evaluate(() => 'gpu' in navigator);
        expect(await textOf(page, 'demo-backend-name')).toMatch(gpu ? /^onnxruntime-web \((WebGPU, WebAssembly for the rest|wasm: no WebGPU adapter)\)/ : /^onnxruntime-web \(wasm\)/);
      }
      expect(errors).toEqual([]);
      await page.close();
    }, 240_000);
  }

  it('demos/digits: a result belongs to the controls that made it (stale, cleared, errors, bounds, cancel)', async () => {
    const { page, errors } = await open('/demos/digits.html', { breakable: true });
    await run(page, 'integrated-gradients', '0');
    const canvas = '[data-testid="demo-canvas"]';
    expect(await canvasColours(page, canvas)).toBeGreaterThan(2);
    expect(await textOf(page, 'demo-time')).toMatch(/^\d+ ms$/);

    // Another option without Run: the picture stays, greyed and marked stale.
    await page.getByTestId('demo-nsteps').fill('20');
    await page.getByTestId('demo-nsteps').press('Tab');
    expect(await statusOf(page)).toBe('settings changed — press Run');
    expect(await page.getByTestId('demo-stale').count()).toBe(1);
    expect(await page.locator(canvas).getAttribute('class')).toMatch(/attr-stale/);
    // Back to the settings of the result: it is current again.
    await page.getByTestId('demo-nsteps').fill('50');
    await page.getByTestId('demo-nsteps').press('Tab');
    expect(await statusOf(page)).toBe('done');
    expect(await page.getByTestId('demo-stale').count()).toBe(0);

    // Another method without Run: the picture of Integrated Gradients is not redrawn as Saliency's, it goes.
    await page.getByTestId('demo-method').selectOption('saliency');
    expect(await canvasColours(page, canvas)).toBe(1);
    expect(await textOf(page, 'demo-time')).toBe('–');
    expect(await statusOf(page)).toBe('ready');
    expect(await page.locator('.attr-demo figcaption').nth(1).textContent()).toMatch(/press Run/);

    // A failing run clears the picture and the time of the previous one.
    await run(page, 'saliency');
    expect(await canvasColours(page, canvas)).toBeGreaterThan(2);
    await page.evaluate(() => ((window as unknown as { __breakNextRun: boolean }).__breakNextRun = true));
    await page.getByTestId('demo-run').click();
    await expect.poll(() => statusOf(page), { timeout: 30_000, interval: 100 }).toMatch(/^error: /);
    expect(await statusOf(page)).toMatch(/unknown method 'no-such-method'/);
    expect(await canvasColours(page, canvas)).toBe(1);
    expect(await textOf(page, 'demo-time')).toBe('–');

    // Bounds are enforced, not only suggested by max=500.
    await page.getByTestId('demo-method').selectOption('integrated-gradients');
    await page.getByTestId('demo-nsteps').fill('5000');
    await page.getByTestId('demo-nsteps').press('Tab');
    expect(await page.getByTestId('demo-nsteps').inputValue()).toBe('500');
    expect(await textOf(page, 'demo-bounds')).toMatch(/at most 500/);
    await page.getByTestId('demo-nsteps').fill('0');
    await page.getByTestId('demo-nsteps').press('Tab');
    expect(await page.getByTestId('demo-nsteps').inputValue()).toBe('1');

    // Another sample during a run: the run is cancelled, never "done" next to an empty picture.
    await page.getByTestId('demo-method').selectOption('noise-tunnel');
    await page.getByTestId('demo-nsamples').fill('200');
    await page.getByTestId('demo-nsamples').press('Tab');
    await page.getByTestId('demo-run').click();
    await page.getByTestId('demo-sample').selectOption('5');
    const after = await statusOf(page);
    expect(after === 'ready' || after.startsWith('cancelled')).toBe(true);
    await page.waitForTimeout(3000); // the cancelled run's reply, if any, must not land
    expect(await statusOf(page)).not.toBe('done');
    expect(await canvasColours(page, canvas)).toBe(1);
    await shot(page, 'digits-after-sample-switch');
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

  it('demos/digits: a digit drawn with the pointer becomes the input; Clear blanks it', async () => {
    const { page, errors } = await open('/demos/digits.html');
    await waitReady(page);
    await expect.poll(() => textOf(page, 'demo-prediction'), { timeout: 30_000 }).toMatch(/^\d \(/);
    const input = page.getByTestId('demo-input');
    await page.getByTestId('demo-clear').click();
    expect(await page.getByTestId('demo-sample').inputValue()).toBe('-1');
    expect(await canvasColours(page, '[data-testid="demo-input"]')).toBe(1); // black
    await expect.poll(() => textOf(page, 'demo-prediction'), { timeout: 30_000 }).toMatch(/^\d \(/);
    const blank = await textOf(page, 'demo-prediction');

    // A "7": the top bar, then the diagonal down to the bottom left.
    const box = (await input.boundingBox())!;
    const point = (x: number, y: number): [number, number] => [box.x + (x / 8) * box.width, box.y + (y / 8) * box.height];
    await page.mouse.move(...point(1.5, 1.5));
    await page.mouse.down();
    await page.mouse.move(...point(6.5, 1.5), { steps: 10 });
    await page.mouse.move(...point(2.5, 6.5), { steps: 10 });
    await page.mouse.up();
    expect(await canvasColours(page, '[data-testid="demo-input"]')).toBeGreaterThan(1);
    expect(await page.locator('.attr-demo figcaption').first().textContent()).toMatch(/your drawing/);
    await expect.poll(() => textOf(page, 'demo-prediction'), { timeout: 30_000 }).not.toBe(blank);
    expect(await textOf(page, 'demo-prediction')).toMatch(/^\d \((0|1)\.\d+\)$/);
    await run(page, 'saliency');
    expect(await canvasColours(page, '[data-testid="demo-canvas"]')).toBeGreaterThan(2);
    await shot(page, 'digits-drawn');

    // Clear: blank again, and the drawing's result goes with it.
    await page.getByTestId('demo-clear').click();
    expect(await canvasColours(page, '[data-testid="demo-input"]')).toBe(1);
    expect(await canvasColours(page, '[data-testid="demo-canvas"]')).toBe(1);
    await expect.poll(() => textOf(page, 'demo-prediction'), { timeout: 30_000 }).toBe(blank);
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

  it('demos/digits-tfjs: the cpu backend by default in a browser without a GPU, webgl still selectable', async () => {
    const { page, errors } = await open('/demos/digits-tfjs.html');
    await waitReady(page);
    expect(await page.getByTestId('demo-backend').inputValue()).toBe('cpu');
    expect(await textOf(page, 'demo-backend-name')).toMatch(/^tfjs-cpu/);
    expect(await textOf(page, 'demo-backend-reason')).toMatch(/WebGL/);
    expect(await page.getByTestId('demo-backend').locator('option').allTextContents()).toEqual(['webgl', 'cpu']);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('demos/tabular: Cancel stops a long run, stale results, a failing run, bounds', async () => {
    const { page, errors } = await open('/demos/tabular.html', { breakable: true });
    await waitReady(page);
    await page.getByTestId('demo-method').selectOption('shapley-value-sampling');
    // Bounds: at most 50000 orderings.
    await page.getByTestId('demo-count').fill('500000');
    await page.getByTestId('demo-count').press('Tab');
    expect(await page.getByTestId('demo-count').inputValue()).toBe('50000');
    expect(await textOf(page, 'demo-bounds')).toMatch(/at most 50000/);

    // 50000 orderings take about ten seconds here; Cancel stops them in the worker.
    await page.getByTestId('demo-run').click();
    await expect.poll(() => page.getByTestId('demo-progress').evaluate((p: HTMLProgressElement) => p.value), { timeout: 30_000, interval: 50 }).toBeGreaterThan(0);
    await page.getByTestId('demo-cancel').click();
    expect(await statusOf(page)).toBe('cancelled');
    expect(await page.getByTestId('demo-chart').locator('svg').count()).toBe(0);
    // The worker is free again at once: a short run does not wait for the rest of the cancelled one's seconds.
    await page.getByTestId('demo-count').fill('25');
    await page.getByTestId('demo-count').press('Tab');
    const start = Date.now();
    await page.getByTestId('demo-run').click();
    await expect.poll(() => statusOf(page), { timeout: 30_000, interval: 50 }).toMatch(/^(done|error: .*)$/);
    expect(await statusOf(page)).toBe('done');
    expect(Date.now() - start).toBeLessThan(2500);
    expect(await page.getByTestId('demo-chart').locator('svg g.bar').count()).toBeGreaterThanOrEqual(10);

    // Another baseline without Run: the chart is marked stale; another method clears it.
    await page.getByTestId('demo-count').fill('30');
    await page.getByTestId('demo-count').press('Tab');
    expect(await statusOf(page)).toBe('settings changed — press Run');
    expect(await page.getByTestId('demo-chart').getAttribute('class')).toMatch(/attr-stale/);
    await page.getByTestId('demo-method').selectOption('feature-ablation');
    expect(await page.getByTestId('demo-chart').locator('svg').count()).toBe(0);
    expect(await textOf(page, 'demo-time')).toBe('–');

    // A failing run clears the previous chart and time.
    await run(page, 'feature-ablation');
    expect(await page.getByTestId('demo-chart').locator('svg').count()).toBe(1);
    await page.evaluate(() => ((window as unknown as { __breakNextRun: boolean }).__breakNextRun = true));
    await page.getByTestId('demo-run').click();
    await expect.poll(() => statusOf(page), { timeout: 30_000, interval: 100 }).toMatch(/^error: /);
    expect(await page.getByTestId('demo-chart').locator('svg').count()).toBe(0);
    expect(await textOf(page, 'demo-time')).toBe('–');
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

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
    // Another method without Run: the plots are marked stale.
    await page.getByTestId('demo-method').selectOption('lime');
    expect(await statusOf(page)).toBe('settings changed — press Run');
    expect(await page.getByTestId('demo-stale').count()).toBe(1);
    await page.getByTestId('demo-method').selectOption('feature-ablation');
    expect(await statusOf(page)).toBe('done');
    // A failing run replaces the result with its error.
    await page.getByTestId('demo-prompt').fill('   ');
    await page.getByTestId('demo-run').click();
    await expect.poll(async () => (await page.getByTestId('demo-status').textContent())?.trim(), { timeout: 30_000, interval: 200 }).toMatch(/^error: /);
    expect(await page.getByTestId('demo-heatmap').locator('svg').count()).toBe(0);
    expect((await page.getByTestId('demo-answer').textContent())?.trim()).toBe('–');
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);

  it('demos/beyond: an adversarial digit reaches its target, TracIn finds same-class proponents, TCAV draws its chart', async () => {
    const { page, errors } = await open('/demos/beyond.html');
    await waitReady(page);
    // The default digit is #34, a 9 (not a training digit).
    expect(await page.getByTestId('demo-sample').inputValue()).toBe('34');
    await expect.poll(() => textOf(page, 'demo-prediction'), { timeout: 30_000 }).toMatch(/^9 \((0|1)\.\d+\)$/);
    const predicted = labels[34]!;
    /** Runs a panel and waits for its `done`; returns the time it shows. */
    const runPanel = async (panel: string): Promise<string> => {
      await page.getByTestId(`${panel}-run`).click();
      await expect.poll(() => textOf(page, `${panel}-status`), { timeout: 60_000, interval: 100 }).toMatch(/^(done|error: .*)$/);
      expect(await textOf(page, `${panel}-status`), panel).toBe('done');
      return textOf(page, `${panel}-time`);
    };

    // The attack: the default target is another class, and PGD reaches it.
    const target = Number(await page.getByTestId('attack-target').inputValue());
    expect(target).not.toBe(predicted);
    expect(await runPanel('attack')).toMatch(/^\d+ ms$/);
    expect(await textOf(page, 'attack-before')).toMatch(new RegExp(`^${predicted} \\(`));
    expect(await textOf(page, 'attack-after')).toMatch(new RegExp(`^${target} \\(.*reached the target ${target}`));
    for (const canvas of ['attack-original', 'attack-delta', 'attack-adversarial', 'attack-saliency-before', 'attack-saliency-after']) {
      expect(await canvasColours(page, `[data-testid="${canvas}"]`), canvas).toBeGreaterThan(2);
    }
    expect(await page.getByTestId('attack-probabilities').locator('tr').count()).toBe(10);
    // Another radius without Run: the result is marked stale.
    await page.getByTestId('attack-radius').fill('0.4');
    await page.getByTestId('attack-radius').press('Tab');
    expect(await textOf(page, 'attack-status')).toBe('settings changed — press Run');

    // Influence: three proponents of the digit's own class, three opponents, each with a score.
    expect(await runPanel('influence')).toMatch(/^\d+ ms$/);
    const proponents = page.getByTestId('influence-proponent');
    expect(await proponents.count()).toBe(3);
    expect(await proponents.getByTestId('influence-label').allTextContents()).toEqual([String(predicted), String(predicted), String(predicted)]);
    expect(await page.getByTestId('influence-opponent').count()).toBe(3);
    expect(await page.getByTestId('influence-opponent').getByTestId('influence-label').allTextContents()).not.toContain(String(predicted));

    // TCAV: Cancel stops a run between experimental sets, and leaves no chart.
    await page.getByTestId('tcav-run').click();
    await expect.poll(() => page.getByTestId('tcav-progress').evaluate((p: HTMLProgressElement) => p.value), { timeout: 30_000, interval: 20 }).toBeGreaterThan(0);
    await page.getByTestId('tcav-cancel').click();
    expect(await textOf(page, 'tcav-status')).toBe('cancelled');
    await page.waitForTimeout(1500); // the cancelled run's reply, if any, must not land
    expect(await page.getByTestId('tcav-chart').count()).toBe(0);
    expect(await textOf(page, 'tcav-status')).toBe('cancelled');
    // Run: one bar per concept and one for the random sets, a p-value per concept.
    expect(await runPanel('tcav')).toMatch(/^\d+ ms$/);
    const chart = page.getByTestId('tcav-chart').locator('svg');
    expect(await chart.count()).toBe(1);
    expect(await chart.locator('g.bar').count()).toBe(3);
    expect(await chart.textContent()).toMatch(/horizontal stroke.*vertical stroke.*random/s);
    const concepts = await page.getByTestId('tcav-concept').allTextContents();
    expect(concepts).toHaveLength(2);
    for (const c of concepts) expect(c).toMatch(/TCAV score (0|1)\.\d\d \(random (0|1)\.\d\d\), p = [\d.e+-]+ — (not significant|significant, (above|below) random) at 0\.05/);
    // As `attribution concept` finds for the 9s (docs/cli.md): the top bar of a 9 matters, a vertical stroke does not.
    expect(concepts[0]).toMatch(/^horizontal stroke: .* significant, above random/);
    expect(concepts[1]).toMatch(/^vertical stroke: .* not significant/);
    await shot(page, 'beyond');

    // Another digit: every panel's result goes.
    await page.getByTestId('demo-sample').selectOption('32');
    expect(await page.getByTestId('tcav-chart').count()).toBe(0);
    expect(await page.getByTestId('influence-proponent').count()).toBe(0);
    expect(await textOf(page, 'attack-time')).toBe('–');
    expect(await canvasColours(page, '[data-testid="attack-adversarial"]')).toBe(1);
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
    // Another target without Run: the heat maps are marked stale; back, they are current; another method clears them.
    await page.getByTestId('demo-target').selectOption('true');
    expect(await statusOf(page)).toBe('settings changed — press Run');
    expect(await page.getByTestId('demo-stale').count()).toBe(1);
    await page.getByTestId('demo-target').selectOption('predicted');
    expect(await statusOf(page)).toBe('done');
    await page.getByTestId('demo-method').selectOption('occlusion');
    expect(await textOf(page, 'demo-time')).toBe('–');
    expect(await page.locator('.attr-card .attr-small').count()).toBe(0); // no "explains …" left
    expect(errors).toEqual([]);
    await page.close();
  }, 240_000);
});
