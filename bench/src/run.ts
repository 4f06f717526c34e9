import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { buildTfjsModel, loadCases, loadGraph } from '@attribution/conformance';
import { IntegratedGradients } from '@attribution/primary';
import { fromTfjs } from '@attribution/tfjs';
import { timePair } from './stats.js';

/** One measured case, as written to bench/results.json. */
interface BenchRecord {
  readonly backend: string;
  readonly model: string;
  readonly method: string;
  readonly options: object;
  readonly medianMs: number;
  readonly reference: string;
  readonly referenceMs: number;
  readonly ratio: number;
  readonly target?: number;
  readonly peakRssMb: number;
}

const RUNS = Number(process.env.BENCH_RUNS ?? 11);
const N_STEPS = 50;
const BATCH: Record<string, number> = { mlp: 64, cnn: 16 };

/** The conformance inputs of `model`, tiled to `rows` examples. */
function inputsFor(model: string, rows: number): tf.Tensor {
  const c = loadCases().find((x) => x.model === model && x.method === 'integrated-gradients');
  if (!c) throw new Error(`no case for ${model}`);
  const input = c.inputs[0]!;
  return tf.tidy(() => {
    const t = tf.tensor([...input.data], [...input.shape]);
    const reps = Math.ceil(rows / input.shape[0]!);
    return tf.slice(tf.tile(t, [reps, ...input.shape.slice(1).map(() => 1)]), 0, rows);
  });
}

async function benchModel(backend: string, name: string): Promise<BenchRecord[]> {
  const fn = buildTfjsModel(loadGraph(name));
  const rows = BATCH[name] ?? 16;
  const x = inputsFor(name, rows);
  const out = fn(x) as tf.Tensor;
  const classes = out.shape[1]!;
  out.dispose();
  const target = 1;
  const weights = tf.oneHot(tf.fill([rows], target, 'int32'), classes).asType('float32');
  const ig = new IntegratedGradients(fromTfjs(fn));
  const grad = tf.valueAndGrads((t: tf.Tensor) => fn(t));
  // The reference: plain tfjs gradient calls on prepared batches (cpu and wasm run ops synchronously).
  const batches = new Map<number, [tf.Tensor, tf.Tensor]>();
  const plainCalls = async (calls: number, batchRows: number): Promise<void> => {
    let batch = batches.get(batchRows);
    if (!batch) {
      const copies = batchRows / rows;
      batch = [tf.tile(x, [copies, ...x.shape.slice(1).map(() => 1)]), tf.tile(weights, [copies, 1])];
      batches.set(batchRows, batch);
    }
    for (let i = 0; i < calls; i++) {
      const { value, grads } = grad([batch[0]], batch[1]);
      tf.dispose([value, ...grads]);
    }
  };
  const records: BenchRecord[] = [];
  const run = async (options: { internalBatchSize?: number }, calls: number, label: string): Promise<void> => {
    const attribute = async (): Promise<void> => {
      const r = await ig.attribute(x, { target, nSteps: N_STEPS, ...options });
      await r.attributions.data();
      r.attributions.dispose();
    };
    const t = await timePair(attribute, () => plainCalls(calls, (N_STEPS / calls) * rows), RUNS);
    records.push({
      backend,
      model: name,
      method: 'IntegratedGradients',
      options: { nSteps: N_STEPS, examples: rows, ...options },
      medianMs: round(t.subject),
      reference: label,
      referenceMs: round(t.reference),
      ratio: round(t.ratio, 3),
      target: 1.1,
      peakRssMb: round(process.resourceUsage().maxRSS / 1024),
    });
  };
  // The algorithm's own overhead: IG makes nSteps gradient calls of `rows` rows; so does the reference.
  await run({ internalBatchSize: rows }, N_STEPS, `${N_STEPS} plain tf.valueAndGrads calls of ${rows} rows`);
  // Default: all steps in one call; the reference is one plain call on the same stacked batch.
  await run({}, 1, `1 plain tf.valueAndGrads call of ${N_STEPS * rows} rows`);
  tf.dispose([x, weights, ...[...batches.values()].flat()]);
  fn.dispose();
  return records;
}

function round(v: number, digits = 2): number {
  return Number(v.toFixed(digits));
}

const backends = process.argv.slice(2).length ? process.argv.slice(2) : ['cpu', 'wasm'];
const all: BenchRecord[] = [];
for (const backend of backends) {
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} is not available`);
  await tf.ready();
  for (const model of ['mlp', 'cnn']) all.push(...(await benchModel(`tfjs-${backend}`, model)));
}

console.log(`Integrated Gradients, ${N_STEPS} steps, median of ${RUNS} runs (ratio = IG time / reference time; target ≤ 1.10)`);
console.table(all.map((r) => ({ backend: r.backend, model: r.model, options: JSON.stringify(r.options), 'IG ms': r.medianMs, reference: r.reference, 'ref ms': r.referenceMs, ratio: r.ratio })));
const file = new URL('../results.json', import.meta.url);
fs.writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, runs: RUNS, records: all }, null, 2)}\n`);
console.log(`written ${file.pathname}`);
