/* global URL */
// Writes the example concepts of `attribution concept` (docs/cli.md): 8×8 images like the digits model's inputs,
// 40 per concept in one .npy stack [40, 1, 8, 8] each — horizontal and vertical strokes, and random scattered
// pixels as counterexamples (ten sets). Run from the repository root: node packages/cli/examples/concepts/make-concepts.mjs
import fs from 'node:fs';
import path from 'node:path';
import { createRandom } from '@attribution/tensor';
import { npy } from '../npy-write.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
function write(name, seed, draw, count = 40) {
  const rng = createRandom(seed);
  const next = () => rng.next();
  const images = [];
  for (let k = 0; k < count; k++) {
    const img = new Array(64).fill(0);
    const px = (r, c, v = 1) => {
      if (r >= 0 && r < 8 && c >= 0 && c < 8) img[r * 8 + c] = Math.max(img[r * 8 + c], v);
    };
    draw(next, px);
    for (let i = 0; i < 64; i++) img[i] = Math.min(1, img[i] + 0.1 * next());
    images.push(...img);
  }
  fs.writeFileSync(path.join(here, `${name}.npy`), npy(images, [count, 1, 8, 8]));
}
const int = (next, n) => Math.floor(next() * n);
write('horizontal', 1, (next, px) => {
  const r = 1 + int(next, 6);
  const c0 = int(next, 3);
  for (let c = c0; c < c0 + 5; c++) px(r, c);
});
write('vertical', 2, (next, px) => {
  const c = 2 + int(next, 4);
  const r0 = int(next, 2);
  for (let r = r0; r < r0 + 6; r++) px(r, c);
});
for (let i = 0; i < 10; i++) {
  write(`random_${i}`, 100 + i, (next, px) => {
    for (let k = 0; k < 14; k++) px(int(next, 8), int(next, 8), 0.3 + 0.7 * next());
  });
}

// The inputs explained in the docs: the eight 9s among the digits model's sample images, one stack [8, 1, 8, 8].
const samples = JSON.parse(fs.readFileSync(path.join(here, '../../../conformance/fixtures/real/digits_cnn.samples.json'), 'utf8'));
const nines = samples.labels.flatMap((label, i) => (label === 9 ? [samples.images[i].flat(Infinity)] : []));
fs.writeFileSync(path.join(here, 'nines.npy'), npy(nines.flat(), [nines.length, 1, 8, 8]));
