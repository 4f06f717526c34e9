// Opens the consumer's Vite build in Debian's Chromium and waits for the page's result.
// Usage: node check-browser.mjs <dist folder> <folder whose node_modules has playwright-core>
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

const [dist, from] = process.argv.slice(2).map((p) => path.resolve(p));
const { chromium } = createRequire(path.join(from, 'package.json'))('playwright-core');
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

const server = http.createServer((req, res) => {
  const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  const file = path.join(dist, path.normalize(pathname.endsWith('/') ? `${pathname}index.html` : pathname));
  if (file.startsWith(dist) && fs.existsSync(file) && fs.statSync(file).isFile()) {
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  } else {
    res.writeHead(404).end('not found');
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

// Playwright gives every launch a fresh temporary profile.
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const errors = [];
let result;
try {
  const page = await browser.newPage();
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => document.querySelector('#out')?.textContent !== 'running', undefined, { timeout: 60_000 });
  result = JSON.parse((await page.textContent('#out')) ?? '{}');
} finally {
  await browser.close();
  server.close();
}
console.log(`browser page: ${JSON.stringify(result)}`);
if (!result?.ok || errors.length > 0) {
  console.error(`browser page failed${errors.length ? `; console errors:\n  ${errors.join('\n  ')}` : ''}`);
  process.exit(1);
}
console.log('browser consumer: ok');
