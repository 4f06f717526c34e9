import { describe, expect, it } from 'vitest';
import { canvasColours, haveChromium, labels, open, run, shot, statusOf, textOf, useSite, waitReady } from './browser-helpers.js';

// The live demos other than the ONNX digits one (see browser.test.ts): tfjs digits, tabular, text, beyond, explorer.

useSite();

describe.runIf(haveChromium)('the docs site in Chromium: demos', () => {
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
