import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DefaultTheme } from 'vitepress';
import { sidebar } from '../.vitepress/config.js';
import { chromiumAvailable, launchChromium, serveStatic } from './server.js';

// The built site's navigation (build it first: `pnpm docs:build`): every method page is in the sidebar, in
// Captum's order, "Next page" goes from method to method, method pages link into the API reference (typedoc)
// and those links resolve, formulas are typeset by MathJax, the favicon is declared, and no sidebar page 404s.

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '../dist');
const docs = path.resolve(here, '../../../docs');
const haveChromium = chromiumAvailable('docs navigation tests');

/** Every page of the sidebar, in its order (the order of "Previous page" and "Next page"). */
function sidebarLinks(items: DefaultTheme.SidebarItem[]): { text: string; link: string }[] {
  return items.flatMap((item) => [...(item.text && item.link ? [{ text: item.text, link: item.link }] : []), ...sidebarLinks(item.items ?? [])]);
}
const links = sidebarLinks(sidebar as DefaultTheme.SidebarItem[]);
const methodPages = fs.readdirSync(path.join(docs, 'methods')).filter((f) => f.endsWith('.md') && f !== 'README.md').map((f) => `/methods/${f.slice(0, -3)}`);

/** All `/api/…` hrefs in the built HTML of a page. */
function apiLinks(html: string): string[] {
  return [...html.matchAll(/href="(\/api\/[^"#]*)(?:#[^"]*)?"/g)].map((m) => m[1]!);
}
const builtFile = (pathname: string): string => path.join(dist, pathname.replace(/^\//, ''));

describe('the built pages', () => {
  it('every sidebar page is built, with a heading, and is not the 404 page', () => {
    for (const { link } of links) {
      const html = fs.readFileSync(builtFile(`${link}.html`), 'utf8');
      expect(html, link).toMatch(/<h1[^>]*>[^<]*\S/);
      expect(html, link).not.toContain('class="NotFound"');
    }
  });

  it('"Next page" on each method page is the next method', () => {
    const order = links.filter((l) => l.link.startsWith('/methods/') && l.link !== '/methods/README');
    for (const [k, method] of order.slice(0, -1).entries()) {
      const html = fs.readFileSync(builtFile(`${method.link}.html`), 'utf8');
      const next = /<a class="[^"]*pager-link next"[^>]*href="([^"]+)"[^>]*>.*?<span class="title"[^>]*>([^<]*)<\/span>/s.exec(html);
      expect(next?.[1], method.link).toBe(`${order[k + 1]!.link}.html`);
      expect(next?.[2], method.link).toBe(order[k + 1]!.text);
    }
  });
});

describe('the sidebar', () => {
  it('lists every method page, with the class name as its text', () => {
    const listed = new Set(links.map((l) => l.link));
    for (const page of methodPages) expect(listed.has(page), page).toBe(true);
    for (const page of methodPages) {
      const title = fs.readFileSync(path.join(docs, `${page}.md`), 'utf8').split('\n')[0]!.replace(/^# /, '');
      expect(links.find((l) => l.link === page)?.text, page).toBe(title);
    }
  });

  it('puts the methods in one run, gradient-based then perturbation-based, so that each one\'s next page is a method', () => {
    const order = links.map((l) => l.link).filter((l) => l.startsWith('/methods/') && l !== '/methods/README');
    expect(order).toHaveLength(methodPages.length);
    const first = links.findIndex((l) => l.link === order[0]);
    expect(links.slice(first, first + order.length).map((l) => l.link)).toEqual(order);
    expect(order.slice(0, 3)).toEqual(['/methods/saliency', '/methods/input-x-gradient', '/methods/integrated-gradients']);
    expect(order.indexOf('/methods/noise-tunnel')).toBe(9);
    expect(order[11]).toBe('/methods/feature-ablation');
  });

  it('names the three tutorials', () => {
    const tutorials = links.filter((l) => l.link.startsWith('/tutorials/'));
    expect(tutorials.map((l) => l.text)).toEqual(['Image classifier (ONNX)', 'Text classification', 'Tabular data (SHAP, ablation)']);
    for (const l of tutorials) expect(fs.existsSync(path.join(docs, `${l.link}.md`)), l.link).toBe(true);
  });
});

describe('the built site', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error('apps/docs/dist is missing: run `pnpm docs:build` first');
  });

  it('builds every sidebar page', () => {
    for (const { link } of links) {
      expect(fs.existsSync(builtFile(`${link}.html`)), link).toBe(true);
    }
  });

  it('links every method page into the API reference, and every such link of every page resolves', () => {
    for (const page of methodPages) {
      const html = fs.readFileSync(builtFile(`${page}.html`), 'utf8');
      const title = fs.readFileSync(path.join(docs, `${page}.md`), 'utf8').split('\n')[0]!.replace(/^# /, '');
      expect(apiLinks(html), page).toContain(`/api/classes/_attribution_primary.${title}.html`);
    }
    const pages = fs.readdirSync(dist, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.html') && !f.startsWith('api'));
    let checked = 0;
    for (const page of pages) {
      for (const href of apiLinks(fs.readFileSync(path.join(dist, page), 'utf8'))) {
        expect(fs.existsSync(builtFile(href)), `${page} → ${href}`).toBe(true);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('typesets the formulas as MathJax SVG, with no TeX left as code', () => {
    for (const page of ['/methods/integrated-gradients', '/concepts', '/layer-attribution', '/neuron-attribution', '/metrics']) {
      const html = fs.readFileSync(builtFile(`${page}.html`), 'utf8');
      expect(html, page).toMatch(/<mjx-container[^>]*jax="SVG"[^>]*display="true"/);
      expect(html, page).not.toMatch(/\$\$|\\(?:lceil|partial|odot|sum)\b/);
    }
  });

  it('declares the favicon on the guide pages and the API reference, and ships it', () => {
    expect(fs.readFileSync(builtFile('/methods/saliency.html'), 'utf8')).toMatch(/<link rel="icon" type="image\/svg\+xml" href="\/favicon\.svg">/);
    expect(fs.existsSync(builtFile('/favicon.svg'))).toBe(true);
    expect(fs.readFileSync(builtFile('/api/index.html'), 'utf8')).toMatch(/<link rel="icon" href="assets\/favicon\.svg"/);
    expect(fs.existsSync(builtFile('/api/assets/favicon.svg'))).toBe(true);
  });

  it('introduces the packages on the API landing page', () => {
    const html = fs.readFileSync(builtFile('/api/index.html'), 'utf8');
    for (const pkg of ['primary', 'layer', 'neuron', 'metrics', 'visualize', 'text', 'tfjs', 'onnx', 'tensor', 'core']) {
      expect(html, pkg).toContain(`modules/_attribution_${pkg}.html`);
      expect(fs.existsSync(builtFile(`/api/modules/_attribution_${pkg}.html`)), pkg).toBe(true);
    }
  });
});

describe.runIf(haveChromium)('the site in Chromium', () => {
  let browser: Browser;
  let site: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    site = await serveStatic(dist);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  async function open(pathname: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const response = await page.goto(site.url + pathname, { waitUntil: 'load' });
    expect(response?.status(), pathname).toBe(200);
    return page;
  }

  it('"Next page" follows a method page to the next method (clicking it goes there)', async () => {
    // The pager is rendered into the built HTML of every page; one click checks that the router follows it.
    const page = await open('/methods/integrated-gradients.html');
    await page.locator('.pager-link.next').click();
    await page.waitForURL(/\/methods\/deep-lift\.html$/);
    // The router changes the URL before it renders the new page: wait for its heading.
    await page.waitForFunction(() => document.querySelector('h1')?.textContent?.startsWith('DeepLift'), undefined, { timeout: 10_000 });
    expect(await page.locator('h1').first().textContent()).toMatch(/^DeepLift/);
    await page.close();
  }, 60_000);

  it('follows a method page\'s API link to the class reference', async () => {
    const page = await open('/methods/integrated-gradients.html');
    const link = page.locator('.vp-doc a[href="/api/classes/_attribution_primary.IntegratedGradients.html"]').first();
    expect(await link.getAttribute('target')).toBe('_self');
    await link.click();
    await page.waitForURL(/\/api\/classes\/_attribution_primary\.IntegratedGradients\.html$/);
    expect(await page.locator('h1').first().textContent()).toMatch(/IntegratedGradients/);
    await page.close();
  }, 60_000);

  it('renders a formula as MathJax SVG', async () => {
    const page = await open('/methods/integrated-gradients.html');
    const formula = page.locator('.vp-doc mjx-container[display="true"] svg').first();
    expect(await formula.count()).toBe(1);
    const box = await formula.boundingBox();
    expect(box?.width ?? 0).toBeGreaterThan(100);
    expect(box?.height ?? 0).toBeGreaterThan(10);
    await page.close();
  }, 60_000);

  it('has the favicon, which loads', async () => {
    const page = await open('/getting-started.html');
    const href = await page.locator('head link[rel="icon"]').getAttribute('href');
    expect(href).toBe('/favicon.svg');
    const response = await page.request.get(site.url + href);
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toBe('image/svg+xml');
    await page.close();
  }, 60_000);

  it('shows the text visualisation inside the visualisation page', async () => {
    const page = await open('/visualize.html');
    const frame = page.frameLocator('iframe[src="/images/sentiment.html"]');
    await expect.poll(async () => frame.locator('mark').count(), { timeout: 10_000 }).toBeGreaterThan(5);
    await page.close();
  }, 60_000);
});
