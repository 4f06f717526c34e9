import { describe, expect, it } from 'vitest';
import { canvasColours, haveChromium, labels, open, run, shot, statusOf, textOf, useSite, waitReady } from './browser-helpers.js';

// The built site (`pnpm build` builds it) in Debian's Chromium: every page renders, and every live demo runs an
// attribution in its Web Worker, draws a non-blank picture and predicts a known sample right, with no console
// errors. Screenshots go to test-artifacts/docs/. CI (`.ci/run`) installs Chromium; elsewhere, without it, the
// suite says so and skips. The guide pages and the ONNX digits demo; the other demos in browser-demos.test.ts.

useSite();

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
});
