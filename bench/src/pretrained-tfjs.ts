import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { IntegratedGradients } from '@attribution/primary';
import { fromTfjs } from '@attribution/tfjs';
import { peakRssMb, round, type BenchRecord } from './record.js';
import { timeMedian } from './stats.js';

const N_STEPS = 32;

/** nsfwjs's bundled models, loaded as its users load them (`nsfwjs.load(name).model`; no network). */
async function loadNsfw(name: 'MobileNetV2' | 'MobileNetV2Mid'): Promise<tf.LayersModel | tf.GraphModel> {
  const nsfwjs = await import('nsfwjs');
  const info = console.info;
  console.info = () => undefined;
  try {
    return (await nsfwjs.load(name)).model as unknown as tf.LayersModel | tf.GraphModel;
  } finally {
    console.info = info;
  }
}

/**
 * IG with 32 steps on converted MobileNetV2s as they ship in an npm package (nsfwjs's Keras-converted
 * LayersModel and its tfjs-converter GraphModel, 224×224), one example, against one forward pass of that
 * example: the cost of explaining a pretrained CNN on tfjs-wasm and tfjs-cpu.
 */
export async function pretrainedTfjs(backends: readonly string[], runs: number): Promise<BenchRecord[]> {
  const records: BenchRecord[] = [];
  for (const backend of backends) {
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} is not available`);
    await tf.ready();
    for (const name of ['MobileNetV2', 'MobileNetV2Mid'] as const) {
      const net = await loadNsfw(name);
      const model = fromTfjs(net);
      const x = tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 7);
      const forward = async (): Promise<void> => {
        const r = await model.forward({ inputs: [x] });
        await r.output.data();
        r.output.dispose();
      };
      const batch = backend === 'cpu' ? 4 : 8;
      const ig = new IntegratedGradients(model);
      const attribute = async (): Promise<void> => {
        const r = await ig.attribute(x, { target: 2, nSteps: N_STEPS, internalBatchSize: batch });
        await r.attributions.data();
        r.attributions.dispose();
      };
      const igRuns = backend === 'cpu' ? 1 : Math.max(1, Math.min(runs, 3));
      const forwardMs = await timeMedian(forward, Math.max(runs, 5), 2);
      // On tfjs-cpu one IG call takes minutes: no warm-up call there (the forward passes above warmed the kernels).
      const igMs = await timeMedian(attribute, igRuns, backend === 'cpu' ? 0 : 1);
      records.push({
        suite: 'pretrained-tfjs',
        backend: `tfjs-${backend}`,
        model: `nsfwjs ${name} (${name === 'MobileNetV2' ? 'LayersModel' : 'GraphModel'}, 224×224)`,
        method: 'IntegratedGradients',
        options: { nSteps: N_STEPS, internalBatchSize: batch, examples: 1 },
        medianMs: round(igMs),
        reference: '1 forward pass of the example',
        referenceMs: round(forwardMs),
        ratio: round(igMs / forwardMs, 1),
        peakRssMb: peakRssMb(),
        runs: igRuns,
      });
      const last = records[records.length - 1] as BenchRecord;
      console.log(`${last.backend} ${last.model}: IG ${last.medianMs} ms, forward ${last.referenceMs} ms, ratio ${last.ratio}`);
      x.dispose();
      model.dispose();
      net.dispose();
    }
  }
  return records;
}
