/* global URL */
// Writes the example data of `attribution influence` (docs/cli.md): the digits model's 40 sample images split
// into 32 "training" digits (train.npy [32, 1, 8, 8], train-labels.json) and 8 queries (test.npy, test-labels.json).
// Run from the repository root: node packages/cli/examples/influence/make-digits.mjs
import fs from 'node:fs';
import path from 'node:path';
import { npy } from '../npy-write.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const samples = JSON.parse(fs.readFileSync(path.join(here, '../../../conformance/fixtures/real/digits_cnn.samples.json'), 'utf8'));
const images = samples.images.map((img) => img.flat(Infinity));
for (const [name, from, to] of [['train', 0, 32], ['test', 32, 40]]) {
  const part = images.slice(from, to);
  fs.writeFileSync(path.join(here, `${name}.npy`), npy(part.flat(), [part.length, 1, 8, 8]));
  fs.writeFileSync(path.join(here, `${name}-labels.json`), `${JSON.stringify(samples.labels.slice(from, to))}\n`);
}
