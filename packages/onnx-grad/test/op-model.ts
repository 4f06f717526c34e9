import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { createRandom, type Random } from '@attribution/tensor';
import { transformModel, type TransformOptions, type TransformedModel } from '../src/index.js';
import { DataType, decodeModel, encodeModel, makeNode, makeTensor, makeValueInfo, onnx, type AttrValue, type ModelProto, type NodeProto, type TensorProto } from '../src/proto.js';

/** A least-recently-used memo of the last `size` results, by key; `evict` frees what it drops. */
function memo<T>(size: number, evict: (value: T) => void = () => undefined): (key: string, make: () => T) => T {
  const entries = new Map<string, T>();
  return (key, make) => {
    const hit = entries.has(key);
    const value = hit ? (entries.get(key) as T) : make();
    entries.delete(key);
    entries.set(key, value);
    for (const [old, dropped] of entries) {
      if (entries.size <= size) break;
      entries.delete(old);
      evict(dropped);
    }
    return value;
  };
}

const digest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Gradient models and ONNX Runtime sessions of the last few models, by the model's bytes: tests that check one
 * model several ways (ops-recurrent checks each against two kinds of finite differences and its forward pass)
 * build and load it once. Both are functions of the bytes (and options), so a repeat would compute the same
 * model and session again; a session that ONNX Runtime refuses is refused again from the memo. Sessions dropped
 * from the memo are released (tests run one at a time, and no test holds more than a few sessions).
 */
const builtMemo = memo<TransformedModel>(8);
export const buildGradientModel = (bytes: Uint8Array, options: TransformOptions = {}): TransformedModel =>
  builtMemo(`${digest(bytes)} ${JSON.stringify(options)}`, () => transformModel(bytes, options));
const sessionMemo = memo<Promise<ort.InferenceSession>>(8, (session) => void session.then((s) => s.release()).catch(() => undefined));
export function loadSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return sessionMemo(digest(bytes), () => {
    const session = ort.InferenceSession.create(bytes);
    session.catch(() => undefined); // the caller sees the refusal
    return session;
  });
}

/** How test values of an input are drawn. */
export type Draw = 'normal' | 'positive' | 'awayFromZero' | 'unit';

/** A graph input of a test model. */
export interface TestInput {
  readonly name: string;
  readonly shape: readonly number[];
  /** Declared dims (defaults to `shape`); strings make symbolic dims. */
  readonly declared?: readonly (number | string)[];
  readonly draw?: Draw;
  /** Not differentiated (e.g. a condition or an index). */
  readonly constant?: boolean;
  readonly type?: 'float' | 'int64' | 'int32' | 'bool';
  readonly values?: readonly number[];
}

/** A small model around one operator. */
export interface TestModel {
  readonly nodes: readonly NodeProto[];
  readonly inputs: readonly TestInput[];
  readonly initializers?: readonly TensorProto[];
  readonly output: string;
  readonly opset?: number;
  /** Opset imports of other domains, e.g. `{ 'com.microsoft': 1 }` (nodes name their domain with {@link msNode} or `domain`). */
  readonly opsets?: Readonly<Record<string, number>>;
  /** Build the gradient model for the concrete input shapes (as fromOnnx does for graphs with shape arithmetic). */
  readonly specialise?: boolean;
  /**
   * The same function of the same inputs in another form, whose forward pass the finite differences
   * evaluate instead of the model's (for a form ONNX Runtime cannot run, e.g. an LSTM with layout 1).
   */
  readonly reference?: { readonly nodes: readonly NodeProto[]; readonly initializers?: readonly TensorProto[] };
  /**
   * Rewrites the built gradient model before ONNX Runtime loads it, e.g. to lower a forward operator that
   * ONNX Runtime's CPU provider lacks (com.microsoft BiasAdd) into standard ones: the backward rule under
   * test still sees the original operator. Pair it with `reference` for the finite differences.
   */
  readonly lowerBuilt?: (model: ModelProto) => void;
  /** Finite-difference step and tolerances, when float32 precision limits them even in a float64 model. */
  readonly fd?: { readonly step: number; readonly atol: number; readonly rtol: number };
}

export const node = (op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue | undefined> = {}): NodeProto =>
  makeNode(op, inputs, outputs, attrs);

/** A node of the `com.microsoft` domain (ONNX Runtime's contrib operators); the model needs `opsets: { 'com.microsoft': 1 }`. */
export const msNode = (op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue | undefined> = {}): NodeProto => ({
  ...makeNode(op, inputs, outputs, attrs),
  domain: 'com.microsoft',
});

/** An int64 initializer. */
export const ints = (name: string, values: number[], dims = [values.length]): TensorProto => makeTensor(name, DataType.INT64, dims, values);

/** A float initializer of the test's float type (filled in by {@link buildModel}). */
export const floats = (name: string, dims: number[], values: number[]): TensorProto => makeTensor(name, DataType.DOUBLE, dims, values);

function draw(rng: Random, kind: Draw): number {
  switch (kind) {
    case 'positive':
      return 0.3 + 1.5 * rng.next();
    case 'awayFromZero':
      return (0.2 + rng.next()) * (rng.next() < 0.5 ? -1 : 1);
    case 'unit':
      return 0.8 * (2 * rng.next() - 1);
    default:
      return rng.normal();
  }
}

/** Builds the ONNX model; float tensors (inputs and DOUBLE initializers) get `floatType`. */
export function buildModel(m: TestModel, floatType: number): ModelProto {
  const elem = (i: TestInput): number => (i.type === 'int64' ? DataType.INT64 : i.type === 'int32' ? DataType.INT32 : i.type === 'bool' ? DataType.BOOL : floatType);
  const initializers = (m.initializers ?? []).map((t) => {
    if (t.dataType !== DataType.DOUBLE) return t;
    const view = new Float64Array(t.rawData.buffer.slice(t.rawData.byteOffset, t.rawData.byteOffset + t.rawData.byteLength));
    return makeTensor(t.name, floatType, t.dims.map(Number), view);
  });
  const constants = m.inputs.filter((i) => i.values && i.constant).map((i) => makeTensor(i.name, elem(i), i.shape, i.values as number[]));
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: m.opset ?? 13 }, ...Object.entries(m.opsets ?? {}).map(([domain, version]) => ({ domain, version }))],
    graph: {
      name: 'test',
      node: m.nodes.map((n) => ({ ...n, attribute: n.attribute.map((a) => (a.t && a.t.dataType === DataType.DOUBLE ? { ...a, t: makeTensor('', floatType, a.t.dims.map(Number), new Float64Array(a.t.rawData.slice().buffer)) } : a)) })),
      initializer: [...initializers, ...constants],
      input: m.inputs.filter((i) => !(i.values && i.constant)).map((i) => makeValueInfo(i.name, elem(i), i.declared ?? i.shape)),
      output: [makeValueInfo(m.output, floatType)],
    },
  });
  return model as unknown as ModelProto;
}

const isFloatInput = (i: TestInput): boolean => !i.constant && (i.type ?? 'float') === 'float';

/** Result of comparing built gradients with central differences. */
export interface GradientCheck {
  readonly type: 'float64' | 'float32';
  /** Largest |analytic − numeric| / (atol + rtol·|numeric|) over all elements (≤ 1 passes). */
  readonly worst: number;
  readonly where: string;
}

/**
 * Compares the gradient of `sum(output ⊙ w)` computed by the built backward graph in ONNX Runtime with
 * central finite differences, for every differentiable input, in float64 when ONNX Runtime runs the
 * model in float64 and in float32 otherwise.
 */
export async function checkGradient(m: TestModel, seed: number, options: CheckOptions = {}): Promise<GradientCheck> {
  try {
    return await check(m, seed, 'float64', options);
  } catch (e) {
    if (!/NOT_IMPLEMENTED|Could not find an implementation|Failed to find kernel|not implemented|does not support double|type .*not supported|Type Error/i.test((e as Error).message)) throw e;
    return check(m, seed, 'float32', options);
  }
}

/** Options of {@link checkGradient}. */
export interface CheckOptions {
  /**
   * Whose forward pass the finite differences evaluate: the model as ONNX Runtime runs it (default), or
   * the built gradient model's own output — the graph the gradients are computed from, decompositions
   * included, which runs in float64 where the decomposed operator has only a float32 kernel.
   */
  readonly finiteDifferencesOf?: 'model' | 'built';
}

async function check(m: TestModel, seed: number, type: 'float64' | 'float32', options: CheckOptions): Promise<GradientCheck> {
  const rng = createRandom(seed);
  const floatType = type === 'float64' ? DataType.DOUBLE : DataType.FLOAT;
  const bytes = encodeModel(buildModel(m, floatType));
  const fed = m.inputs.filter((i) => !(i.values && i.constant));
  const values = new Map(fed.map((i) => [i.name, i.values ? [...i.values] : Array.from({ length: i.shape.reduce((a, b) => a * b, 1) }, () => draw(rng, i.draw ?? 'normal'))]));
  const wrt = fed.filter(isFloatInput).map((i) => i.name);
  const inputShapes = m.specialise ? Object.fromEntries(fed.map((i) => [i.name, i.shape])) : undefined;
  const built = buildGradientModel(bytes, { wrt, inputShapes });
  const lowered = (bytes: Uint8Array): Uint8Array => {
    if (!m.lowerBuilt) return bytes;
    const model = decodeModel(bytes);
    m.lowerBuilt(model);
    return encodeModel(model);
  };
  const gradSession = await loadSession(lowered(built.bytes));
  const ofBuilt = options.finiteDifferencesOf === 'built';
  const forwardBytes = m.reference ? encodeModel(buildModel({ ...m, nodes: m.reference.nodes, initializers: m.reference.initializers ?? m.initializers }, floatType)) : bytes;
  const forward = ofBuilt ? gradSession : await loadSession(buildGradientModel(forwardBytes).bytes);
  const FloatArray = type === 'float64' ? Float64Array : Float32Array;
  const feeds = (override?: [string, number[]]): Record<string, ort.Tensor> => {
    const out: Record<string, ort.Tensor> = {};
    for (const i of fed) {
      const v = override && override[0] === i.name ? override[1] : (values.get(i.name) as number[]);
      out[i.name] =
        i.type === 'int64' ? new ort.Tensor('int64', BigInt64Array.from(v.map((x) => BigInt(x))), i.shape)
        : i.type === 'int32' ? new ort.Tensor('int32', Int32Array.from(v), i.shape)
        : i.type === 'bool' ? new ort.Tensor('bool', Uint8Array.from(v), i.shape)
        : new ort.Tensor(type, FloatArray.from(v), i.shape);
    }
    return out;
  };
  // The built model's weights are shaped like the output (declared statically when finite differences run it).
  const declared = built.inputs.find((i) => i.name === built.weights)?.shape ?? [];
  const dims = ofBuilt ? declared.map((d) => (typeof d === 'number' ? d : NaN)) : ((await forward.run(feeds()))[built.output] as ort.Tensor).dims;
  if (dims.some((d) => Number.isNaN(d))) throw new Error(`finite differences of the built model need a static output shape, not [${declared.join(', ')}]`);
  const weights = Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal());
  const weightsFeed = { [built.weights as string]: new ort.Tensor(type, FloatArray.from(weights), dims) };
  const objective = async (name: string, v: number[]): Promise<number> => {
    const out = (await forward.run(ofBuilt ? { ...feeds([name, v]), ...weightsFeed } : feeds([name, v])))[built.output] as ort.Tensor;
    const data = out.data as Float64Array;
    let s = 0;
    for (let i = 0; i < data.length; i++) s += (data[i] as number) * (weights[i] as number);
    return s;
  };
  const result = await gradSession.run({ ...feeds(), ...weightsFeed });
  const step = m.fd?.step ?? (type === 'float64' ? 1e-6 : 1e-2);
  const [atol, rtol] = m.fd ? [m.fd.atol, m.fd.rtol] : type === 'float64' ? [1e-7, 1e-5] : [2e-3, 2e-2];
  let worst = 0;
  let where = '';
  for (let k = 0; k < wrt.length; k++) {
    const name = wrt[k] as string;
    const analytic = (result[built.gradients[k] as string] as ort.Tensor).data as Float64Array;
    const v = values.get(name) as number[];
    if (analytic.length !== v.length) throw new Error(`gradient of ${name} has ${analytic.length} values, want ${v.length}`);
    for (let j = 0; j < v.length; j++) {
      const up = [...v];
      const down = [...v];
      up[j] = (up[j] as number) + step;
      down[j] = (down[j] as number) - step;
      const numeric = ((await objective(name, up)) - (await objective(name, down))) / (2 * step);
      const ratio = Math.abs((analytic[j] as number) - numeric) / (atol + rtol * Math.abs(numeric));
      if (!(ratio <= worst)) {
        worst = Number.isNaN(ratio) ? Infinity : ratio;
        where = `d/d${name}[${j}]: built ${analytic[j]}, finite differences ${numeric}`;
      }
    }
  }
  return { type, worst, where };
}

/** A named test model builder, drawing shapes and attributes from a seeded random source. */
export type Case = readonly [name: string, build: (rng: Random) => TestModel];

/**
 * Checks every case's gradients against central finite differences, for 3 seeds each (`seedBase` keeps
 * different files' draws apart), and prints which cases ran in float32 because ONNX Runtime has no
 * float64 kernel for them.
 */
export function describeCases(title: string, cases: readonly Case[], seedBase = 1000): void {
  describe(title, () => {
    const float32 = new Set<string>();
    afterAll(() => {
      console.log(`${title}: ${cases.length} cases × 3 seeds; float32 (ONNX Runtime has no float64 kernel): ${[...float32].join(', ') || 'none'}`);
    });
    for (const [name, build] of cases) {
      for (const seed of [1, 2, 3]) {
        it(`${name} #${seed}`, async () => {
          const rng = createRandom(seedBase * seed + name.length);
          const result = await checkGradient(build(rng), seed);
          if (result.type === 'float32') float32.add(name);
          expect(result.worst, `${result.type}: ${result.where}`).toBeLessThanOrEqual(1);
        });
      }
    }
  });
}
