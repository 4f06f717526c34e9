import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { buildTfjsModel, loadCases, loadGraph } from '@attribution/conformance';
import { IntegratedGradients } from '@attribution/primary';
import { fromTfjs } from '@attribution/tfjs';
import { peakRssMb, round, type BenchRecord } from './record.js';
import { timePair } from './stats.js';

const N_STEPS = 50;

/** The conformance inputs of `model`, tiled to `rows` examples. */
export function tfjsInputs(model: string, rows: number): tf.Tensor {
  const c = loadCases().find((x) => x.model === model && x.method === 'integrated-gradients');
  if (!c) throw new Error(`no case for ${model}`);
  const input = c.inputs[0]!;
  return tf.tidy(() => {
    const t = tf.tensor([...input.data], [...input.shape]);
    const reps = Math.ceil(rows / input.shape[0]!);
    return tf.slice(tf.tile(t, [reps, ...input.shape.slice(1).map(() => 1)]), 0, rows);
  });
}

/**
 * IG time on the shared `cnn` and `mlp` models against plain tfjs gradient calls doing the same rows:
 * the algorithm's own overhead (target ≤ 1.10).
 */
export async function tfjsIg(backends: readonly string[], runs: number): Promise<BenchRecord[]> {
  const records: BenchRecord[] = [];
  for (const backend of backends) {
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} is not available`);
    await tf.ready();
    for (const [name, rows] of [['mlp', 64], ['cnn', 16]] as const) {
      const fn = buildTfjsModel(loadGraph(name));
      const x = tfjsInputs(name, rows);
      const classes = (tf.tidy(() => fn(x)) as tf.Tensor).shape[1]!;
      const weights = tf.tidy(() => tf.oneHot(tf.fill([rows], 1, 'int32'), classes).asType('float32'));
      const ig = new IntegratedGradients(fromTfjs(fn));
      const grad = tf.valueAndGrads((t: tf.Tensor) => fn(t));
      const batches = new Map<number, [tf.Tensor, tf.Tensor]>();
      const plainCalls = async (calls: number, copies: number): Promise<void> => {
        let batch = batches.get(copies);
        if (!batch) {
          batch = [tf.tile(x, [copies, ...x.shape.slice(1).map(() => 1)]), tf.tile(weights, [copies, 1])];
          batches.set(copies, batch);
        }
        for (let i = 0; i < calls; i++) {
          const { value, grads } = grad([batch[0]], batch[1]);
          tf.dispose([value, ...grads]);
        }
      };
      for (const [options, calls, label] of [
        [{ internalBatchSize: rows }, N_STEPS, `${N_STEPS} plain tf.valueAndGrads calls of ${rows} rows`],
        [{}, 1, `1 plain tf.valueAndGrads call of ${N_STEPS * rows} rows`],
      ] as const) {
        const attribute = async (): Promise<void> => {
          const r = await ig.attribute(x, { target: 1, nSteps: N_STEPS, ...options });
          await r.attributions.data();
          r.attributions.dispose();
        };
        const t = await timePair(attribute, () => plainCalls(calls, N_STEPS / calls), runs);
        records.push({
          suite: 'tfjs-ig',
          backend: `tfjs-${backend}`,
          model: name,
          method: 'IntegratedGradients',
          options: { nSteps: N_STEPS, examples: rows, ...options },
          medianMs: round(t.subject),
          reference: label,
          referenceMs: round(t.reference),
          ratio: round(t.ratio, 3),
          target: '≤ 1.10',
          peakRssMb: peakRssMb(),
          runs,
        });
      }
      tf.dispose([x, weights, ...[...batches.values()].flat()]);
      fn.dispose();
    }
  }
  return records;
}
