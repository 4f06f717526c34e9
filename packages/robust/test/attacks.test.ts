import * as tf from '@tensorflow/tfjs';
import { toNumbers, type Model } from '@attribution/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FGSM, PGD } from '../src/index.js';
import { cases, flat, onnxModel, runtimes, tfjsModels, type AttackCase } from './models.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The largest difference to Captum seen per backend, checked at the end. */
const worst = new Map<string, number>();

/** The ONNX file a case runs on: the additional input is a second model input; 3-D BasicModel has its own file. */
function onnxName(c: AttackCase): string {
  if (c.model === 'multilayer' && c.options.additional) return 'multilayer_add';
  if (c.model === 'basic' && flat(c.inputs[0])[1].length === 3) return 'basic_3d';
  return c.model;
}

/** Runs one case on a model; returns the perturbed inputs' values, one array per input. */
async function run<T>(model: Model<T>, c: AttackCase): Promise<number[][]> {
  const b = model.backend;
  const make = (value: unknown): T => {
    const [data, shape] = flat(value);
    return b.tensor(Float32Array.from(data), shape, 'float32');
  };
  const inputs = c.inputs.map(make);
  const single = inputs.length === 1;
  const made: T[] = [...inputs];
  let target: unknown = c.target;
  if (target !== null && typeof target === 'object' && 'tensor' in target) {
    const values = (target as { tensor: number[] }).tensor;
    target = b.tensor(Int32Array.from(values), [values.length], 'int32');
    made.push(target as T);
  }
  const mask = c.options.mask?.map(make);
  const args = c.options.additional?.map(make);
  made.push(...(mask ?? []), ...(args ?? []));
  const ctor = {
    ...(c.constructor.loss ? { lossFunc: c.constructor.loss } : {}),
    ...(c.constructor.lower_bound !== undefined ? { lowerBound: c.constructor.lower_bound } : {}),
    ...(c.constructor.upper_bound !== undefined ? { upperBound: c.constructor.upper_bound } : {}),
  };
  const common = {
    target,
    ...(c.options.targeted !== undefined ? { targeted: c.options.targeted } : {}),
    ...(mask ? { mask: single ? mask[0] : mask } : {}),
    ...(args ? { additionalForwardArgs: args } : {}),
  };
  const x = single ? (inputs[0] as T) : inputs;
  let out: T | T[];
  if (c.kind === 'fgsm') out = await new FGSM(model, ctor).perturb(x as T, { epsilon: c.options.epsilon as number, ...common });
  else {
    out = await new PGD(model, ctor).perturb(x as T, {
      radius: c.options.radius as number,
      stepSize: c.options.step_size as number,
      stepNum: c.options.step_num as number,
      ...(c.options.norm ? { norm: c.options.norm } : {}),
      ...common,
    });
  }
  const outs = Array.isArray(out) ? out : [out];
  const values = await Promise.all(outs.map(async (t) => Array.from(toNumbers(await b.data(t as T))) as number[]));
  b.dispose([...outs, ...made]);
  return values;
}

function compare(backend: string, c: AttackCase, got: number[][]): void {
  expect(got.length).toBe(c.expected.length);
  let max = 0;
  got.forEach((values, i) => {
    const [want] = flat(c.expected[i]);
    expect(values.length).toBe(want.length);
    values.forEach((v, k) => (max = Math.max(max, Math.abs(v - (want[k] as number)))));
  });
  worst.set(backend, Math.max(worst.get(backend) ?? 0, max));
  // Sign steps are exact; only an L2 projection's float32 norm may differ in its last bit.
  expect(max).toBeLessThanOrEqual(c.options.norm === 'L2' ? 1e-6 : 0);
}

describe('FGSM and PGD match Captum 0.8 (TensorFlow.js cpu)', () => {
  for (const c of cases.attacks) {
    it(c.id, async () => {
      const model = (tfjsModels[c.model] as () => Model<tf.Tensor>)();
      compare('tfjs-cpu', c, await run(model, c));
    });
  }
});

for (const { name, ort } of runtimes) {
  describe(`FGSM and PGD match Captum 0.8 (${name})`, () => {
    for (const c of cases.attacks) {
      it(c.id, async () => {
        compare(name, c, await run(await onnxModel(ort, onnxName(c)), c));
      });
    }
  });
}

afterAll(() => {
  // Every backend ran every case.
  expect([...worst.keys()].sort()).toEqual(['onnxruntime-node', 'onnxruntime-web', 'tfjs-cpu']);
});
