// TCAV on the repository's digits CNN (8×8 scikit-learn digits, ONNX): do synthetic stroke concepts matter
// for its predictions? Run after `pnpm build`: node packages/concept/examples/digits-tcav.mjs
/* global URL, console */
/* eslint-disable no-restricted-imports -- an example loads the ONNX runtime itself */
import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { fromOnnx } from '@attribution/onnx';
import { createRandom } from '@attribution/tensor';
import { Concept, SGDClassifier, TCAV, scoresAcross, tTest } from '@attribution/concept';

const root = new URL('../../conformance/fixtures/real/', import.meta.url);
const model = await fromOnnx(ort, new URL('digits_cnn.onnx', root).pathname);
const b = model.backend;
const samples = JSON.parse(fs.readFileSync(new URL('digits_cnn.samples.json', root), 'utf8'));

/** 8×8 images drawn by `draw(rng, pixel)`, 40 per concept, in batches of 20. */
function concept(id, name, seed, draw) {
  const rng = createRandom(seed);
  const images = Array.from({ length: 40 }, () => {
    const img = new Float32Array(64);
    draw(rng, (r, c, v = 1) => { if (r >= 0 && r < 8 && c >= 0 && c < 8) img[r * 8 + c] = Math.max(img[r * 8 + c], v); });
    for (let i = 0; i < 64; i++) img[i] = Math.min(1, img[i] + 0.1 * rng.next());
    return img;
  });
  const batch = (s) => { const v = new Float32Array(20 * 64); images.slice(s, s + 20).forEach((im, i) => v.set(im, i * 64)); return b.tensor(v, [20, 1, 8, 8]); };
  return new Concept(id, name, () => [batch(0), batch(20)]);
}
const horizontal = concept(0, 'horizontal', 1, (rng, px) => { const r = 1 + rng.int(6), c0 = rng.int(3); for (let c = c0; c < c0 + 5; c++) px(r, c); });
const vertical = concept(1, 'vertical', 2, (rng, px) => { const c = 2 + rng.int(4), r0 = rng.int(2); for (let r = r0; r < r0 + 6; r++) px(r, c); });
const loop = concept(2, 'loop', 3, (rng, px) => {
  const cr = 3.5 + rng.next() - 0.5, cc = 3.5 + rng.next() - 0.5, rad = 2 + rng.next();
  for (let t = 0; t < 64; t++) px(Math.round(cr + rad * Math.sin(t / 10.2)), Math.round(cc + 0.8 * rad * Math.cos(t / 10.2)));
});
// Random counterexamples: scattered pixels of random intensity (one distribution, different draws).
const randoms = Array.from({ length: 6 }, (_, i) => concept(10 + i, `random_${i}`, 100 + i, (rng, px) => {
  for (let k = 0; k < 14; k++) px(rng.int(8), rng.int(8), 0.3 + 0.7 * rng.next());
}));

const layer = '/3/Relu_output_0';
const tcav = new TCAV(model, layer, { modelId: 'digits_cnn', classifier: new SGDClassifier({ seed: 0 }) });
const conceptsToTest = [horizontal, vertical, loop];
const randomSets = randoms.slice(1).map((r) => [randoms[0], r]);

for (const digit of [9, 4, 2]) {
  const rows = samples.labels.map((l, i) => (l === digit ? i : -1)).filter((i) => i >= 0);
  const inputs = b.tensor(rows.flatMap((i) => samples.images[i]), [rows.length, 1, 8, 8]);
  const line = [`digit ${digit} (${rows.length} images)`];
  for (const c of conceptsToTest) {
    const conceptSets = randoms.map((r) => [c, r]);
    const scores = await tcav.interpret(inputs, [...conceptSets, ...randomSets], { target: digit });
    const own = scoresAcross(scores, conceptSets, layer, 'signCount');
    const rnd = scoresAcross(scores, randomSets, layer, 'signCount');
    const { pValue } = tTest(own, rnd);
    const mean = (v) => (v.reduce((a, x) => a + x, 0) / v.length).toFixed(2);
    line.push(`${c.name}: sign ${mean(own)} vs random ${mean(rnd)}, p ${pValue.toExponential(1)}`);
  }
  console.log(line.join(' | '));
  b.dispose(inputs);
}
const accs = Object.entries(tcav.cavs).map(([k, v]) => `${k}: ${v[layer].stats.accs.toFixed(2)}`);
console.log('CAV accuracies:', accs.join(', '));
