import * as tf from '@tensorflow/tfjs';
import { fromTfjs, type Tap } from '@attribution/tfjs';
import { LayerActivation } from '@attribution/layer';

// x [N, 2] → pre = x·W1 → hidden = relu(pre) → 2 class scores
const w1 = tf.tensor2d([[1, -1, 2], [0.5, 1, -1]]);
const w2 = tf.tensor2d([[1, -1], [2, 1], [-1, 0.5]]);
const net = (x: tf.Tensor, tap: Tap): tf.Tensor => {
  const pre = tap('pre', tf.matMul(x, w1));
  const hidden = tap('hidden', tf.relu(pre));
  return tf.matMul(hidden, w2);
};
const model = fromTfjs(net);
const x = tf.tensor2d([[1, 2], [3, -1]]);

const { attributions } = await new LayerActivation(model, 'hidden').attribute(x);
console.log(await attributions.array()); // [[2, 1, 0], [2.5, 0, 7]]
console.log(await model.layers());      // ['pre', 'hidden']

// --- ../../docs/layer-attribution.md:250
const both = await new LayerActivation(model, ['pre', 'hidden']).attribute(x);
const [pre, hidden] = both.attributions as tf.Tensor[];
console.log(await pre!.array());    // [[2, 1, 0], [2.5, -4, 7]]
console.log(await hidden!.array()); // [[2, 1, 0], [2.5, 0, 7]]

// --- ../../docs/layer-attribution.md:274
import { LayerGradientXActivation } from '@attribution/layer';

const gxa = await new LayerGradientXActivation(model, 'hidden').attribute(x, { target: 0 });
console.log(await gxa.attributions.array()); // [[2, 2, 0], [2.5, 0, -7]]

// --- ../../docs/layer-attribution.md:308
import { LayerConductance } from '@attribution/layer';

const cond = await new LayerConductance(model, 'hidden').attribute(x, {
  target: 0, method: 'riemann_trapezoid', returnConvergenceDelta: true,
});
console.log(await cond.attributions.array());
console.log(await cond.delta!.array());

// --- ../../docs/layer-attribution.md:339
import { InternalInfluence } from '@attribution/layer';

const influence = await new InternalInfluence(model, 'hidden').attribute(x, { target: 0 });
console.log(await influence.attributions.array());

// --- ../../docs/layer-attribution.md:372
import { LayerIntegratedGradients } from '@attribution/layer';

const lig = await new LayerIntegratedGradients(model, 'hidden').attribute(x, {
  target: 0, returnConvergenceDelta: true,
});
console.log(await lig.attributions.array());
console.log(await lig.delta!.array());

// --- ../../docs/layer-attribution.md:463
import * as tf from '@tensorflow/tfjs';
import { tfjsBackend } from '@attribution/tfjs';
import { LayerAttribution } from '@attribution/layer';

const map = tf.tensor4d([[[[11.25, 13.5], [20.25, 22.5]]]]);
const nearest = await LayerAttribution.interpolate(tfjsBackend, map, [4, 4]);
const bilinear = await LayerAttribution.interpolate(tfjsBackend, map, [4, 4], 'bilinear');
console.log(await nearest.array());
console.log(await bilinear.array());

// --- ../../docs/layer-attribution.md:499
import { LayerDeepLift } from '@attribution/layer';

const dl = await new LayerDeepLift(model, 'pre').attribute(x, { target: 0, returnConvergenceDelta: true });
console.log(await dl.attributions.array());
console.log(await dl.delta!.array());

// --- ../../docs/layer-attribution.md:527
import { LayerFeatureAblation } from '@attribution/layer';

const ablation = new LayerFeatureAblation(model, 'hidden');
const each = await ablation.attribute(x, { target: 0 });
console.log(await each.attributions.array());
const groups = tf.tensor2d([[0, 0, 1]], undefined, 'int32');   // units 0 and 1 together, unit 2 alone
const grouped = await ablation.attribute(x, { target: 0, layerMask: groups, layerBaselines: 1 });
console.log(await grouped.attributions.array());

// --- ../../docs/layer-attribution.md:564
import { LayerGradientShap } from '@attribution/layer';

const background = tf.tensor2d([[0, 0], [1, 1], [-1, 0.5]]);   // B = 3 reference rows
const shap = await new LayerGradientShap(model, 'hidden').attribute(x, {
  baselines: background, nSamples: 20, seed: 0, target: 0, returnConvergenceDelta: true,
});
console.log(await shap.attributions.array());
console.log(shap.delta!.shape); // [40]

// --- ../../docs/layer-attribution.md:599
const seen: string[] = [];
await new LayerIntegratedGradients(model, 'hidden').attribute(x, {
  target: 0, nSteps: 6, internalBatchSize: 4, onProgress: ({ done, total }) => seen.push(`${done}/${total}`),
});
console.log(seen.join(' '));

const controller = new AbortController();
controller.abort();
try {
  await new LayerConductance(model, 'hidden').attribute(x, { target: 0, signal: controller.signal });
} catch (e) {
  console.log((e as Error).name); // AbortError
}

// --- ../../docs/layer-attribution.md:628
try {
  await new LayerActivation(model, 'hiden').attribute(x);
} catch (e) {
  console.log((e as Error).message);
}

export {};
