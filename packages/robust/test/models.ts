import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { fromOnnx, type OrtModule } from '@attribution/onnx';
import type { Model } from '@attribution/tensor';
import { basicModel2, basicModelMultiLayer } from '@attribution/testing';
import { fromTfjs } from '@attribution/tfjs';

ortWeb.env.wasm.numThreads = 1;

export const here = path.dirname(fileURLToPath(import.meta.url));

/** One FGSM or PGD case of robust_cases.json. */
export interface AttackCase {
  readonly id: string;
  readonly kind: 'fgsm' | 'pgd';
  readonly model: 'basic' | 'basic2' | 'multilayer' | 'mlp' | 'mlp_softmax';
  readonly inputs: unknown[];
  readonly target: unknown;
  readonly constructor: { readonly loss?: 'cross-entropy'; readonly lower_bound?: number; readonly upper_bound?: number };
  readonly options: {
    readonly epsilon?: number;
    readonly targeted?: boolean;
    readonly radius?: number;
    readonly step_size?: number;
    readonly step_num?: number;
    readonly norm?: 'Linf' | 'L2';
    readonly mask?: unknown[];
    readonly additional?: unknown[];
  };
  readonly expected: unknown[];
}

/** The reference file. */
export interface Cases {
  readonly mlpWeights: Record<string, number[] | number[][]>;
  readonly attacks: AttackCase[];
  readonly comparator: { id: string; perturbationsPerEval?: number; evaluations: unknown[]; summary: unknown }[];
  readonly minparam: {
    id: string;
    mode?: 'linear' | 'binary';
    perturbationsPerEval?: number;
    argMin?: number;
    argMax?: number;
    argStep?: number;
    input?: number[][];
    target?: number;
    perturbed: unknown;
    param: number | null;
  }[];
}

export const cases = JSON.parse(fs.readFileSync(path.join(here, 'fixtures/robust_cases.json'), 'utf8')) as Cases;

/** Nested arrays → [flat values, shape]. */
export function flat(value: unknown): [number[], number[]] {
  const shape: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return [(value as unknown[]).flat(Infinity as 1) as number[], shape];
}

const basic = (x: tf.Tensor): tf.Tensor => tf.sub(1, tf.relu(tf.sub(1, x)));
const offsetRow = tf.keep(tf.tensor2d([[0.000001, 0, 0, 0, 0]]));

/** The MLP of the fixtures in TensorFlow.js, from its PyTorch weights. */
export function mlp(softmax: boolean): (x: tf.Tensor) => tf.Tensor {
  const w = cases.mlpWeights;
  const w1 = tf.keep(tf.transpose(tf.tensor2d(w['l1.weight'] as number[][])));
  const b1 = tf.keep(tf.tensor1d(w['l1.bias'] as number[]));
  const w2 = tf.keep(tf.transpose(tf.tensor2d(w['l2.weight'] as number[][])));
  const b2 = tf.keep(tf.tensor1d(w['l2.bias'] as number[]));
  return (x) => {
    const z = tf.add(tf.matMul(tf.tanh(tf.add(tf.matMul(x as tf.Tensor2D, w1 as tf.Tensor2D), b1)), w2 as tf.Tensor2D), b2);
    return softmax ? tf.softmax(z) : z;
  };
}

/** The tfjs functions of the fixture models (`multilayer` takes an optional additional input). */
export const tfjsModels: Record<string, () => Model<tf.Tensor>> = {
  basic: () => fromTfjs(basic),
  basic2: () => fromTfjs(basicModel2),
  multilayer: () => fromTfjs(basicModelMultiLayer()),
  multilayer_add: () => fromTfjs(basicModelMultiLayer()),
  offset: () => fromTfjs((x: tf.Tensor) => tf.add(basic(x), offsetRow)),
  mlp: () => fromTfjs(mlp(false)),
  mlp_softmax: () => fromTfjs(mlp(true)),
};

/** The ONNX file of a fixture model. */
export const onnxFile = (name: string): string => path.join(here, 'fixtures', `${name}.onnx`);

/** The runtimes the conformance cases run on. */
export const runtimes = [
  { name: 'onnxruntime-node', ort: ort as unknown as OrtModule },
  { name: 'onnxruntime-web', ort: ortWeb as unknown as OrtModule },
] as const;

/** Loads a fixture model on ONNX Runtime (cached per runtime). */
const onnxCache = new Map<string, Promise<Model<unknown>>>();
export function onnxModel(runtime: OrtModule, name: string): Promise<Model<unknown>> {
  const key = `${runtime === (ortWeb as unknown) ? 'web' : 'node'}:${name}`;
  let m = onnxCache.get(key);
  if (!m) {
    m = fromOnnx(runtime, onnxFile(name)) as Promise<Model<unknown>>;
    onnxCache.set(key, m);
  }
  return m;
}
