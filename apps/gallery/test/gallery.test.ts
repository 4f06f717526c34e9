import fs from 'node:fs';
import path from 'node:path';
import { decode } from 'fast-png';
import * as ort from 'onnxruntime-node';
import type { OrtModule } from '@attribution/onnx';
import { describe, expect, it } from 'vitest';
import { generateGallery, root } from '../src/gallery.js';

// The committed pictures must be what the code draws now. Another CPU may round a float differently, so
// embedded and stand-alone PNGs may differ by 2 levels per channel and numbers in the text by a little.

const DATA_URI = /data:image\/png;base64,([A-Za-z0-9+/=]+)/g;
const NUMBER = /-?\d+(?:\.\d+)?(?:e-?\d+)?/g;

function samePixels(a: Uint8Array, b: Uint8Array, what: string): void {
  const [pa, pb] = [decode(a), decode(b)];
  expect([pa.width, pa.height], what).toEqual([pb.width, pb.height]);
  const [da, db] = [pa.data as Uint8Array, pb.data as Uint8Array];
  let worst = 0;
  for (let i = 0; i < da.length; i++) worst = Math.max(worst, Math.abs((da[i] as number) - (db[i] as number)));
  expect(worst, `${what}: largest pixel difference`).toBeLessThanOrEqual(2);
}

function sameText(got: string, want: string, what: string): void {
  const images = (s: string): Uint8Array[] => [...s.matchAll(DATA_URI)].map((m) => Buffer.from(m[1] as string, 'base64'));
  const [ga, wa] = [images(got), images(want)];
  expect(ga.length, what).toBe(wa.length);
  ga.forEach((g, i) => samePixels(g, wa[i] as Uint8Array, `${what}, image ${i}`));
  const strip = (s: string): string => s.replace(DATA_URI, 'data:');
  const [gs, ws] = [strip(got), strip(want)];
  expect(gs.replace(NUMBER, '#'), what).toBe(ws.replace(NUMBER, '#'));
  const [gn, wn] = [gs.match(NUMBER) ?? [], ws.match(NUMBER) ?? []];
  gn.forEach((g, i) => {
    const [x, y] = [Number(g), Number(wn[i])];
    expect(Math.abs(x - y), `${what}: number ${i} (${g} vs ${wn[i]})`).toBeLessThanOrEqual(Math.max(0.011, 0.002 * Math.abs(y), Number.isInteger(y) ? 1 : 0));
  });
}

describe('the docs pictures', () => {
  it('are what the code draws now (`pnpm build` regenerates them)', async () => {
    const files = await generateGallery(ort as unknown as OrtModule);
    expect(files.map((f) => f.name).sort()).toEqual([
      'breast-cancer-ig.svg',
      'digits-deletion-insertion.svg',
      'digits-ig-3.png',
      'digits-ig.svg',
      'digits-methods.svg',
      'layer-methods.svg',
      ...[
        'deconvolution',
        'deep-lift-shap',
        'deep-lift',
        'feature-ablation',
        'feature-permutation',
        'gradient-shap',
        'guided-backprop',
        'guided-grad-cam',
        'input-x-gradient',
        'integrated-gradients',
        'kernel-shap',
        'lime',
        'lrp',
        'noise-tunnel',
        'occlusion',
        'saliency',
        'shapley-value-sampling',
        'shapley-values',
      ].map((method) => `methods/${method}.svg`),
      'neuron-methods.svg',
      'sentiment.html',
      'visualize-modes.svg',
    ]);
    for (const file of files) {
      const committed = fs.readFileSync(path.join(root, 'docs/images', file.name));
      if (file.name.endsWith('.png')) samePixels(file.bytes, committed, file.name);
      else sameText(new TextDecoder().decode(file.bytes), committed.toString('utf8'), file.name);
    }
  }, 60_000);
});
