import { layerMethods } from '@attribution/layer';
import { neuronMethods } from '@attribution/neuron';
import { primaryMethods, type MethodEntry } from '@attribution/primary';
import { formatShape, shapesEqual, toNumbers, type Backend, type Model } from '@attribution/tensor';
import type { ConformanceCase, FixtureTensor } from './fixtures.js';

/** What a runner returns: attributions (one per input or layer tensor) and the delta when asked. */
export interface RunOutput<T> {
  readonly attributions: readonly T[];
  readonly delta?: T;
}

/** Everything a runner needs to evaluate one case on one backend. */
export interface CaseContext<T> {
  readonly model: Model<T>;
  readonly backend: Backend<T>;
  readonly inputs: readonly T[];
  /** Converts a fixture tensor (e.g. a baseline) to a backend tensor owned by the harness. */
  readonly tensor: (fixture: FixtureTensor) => T;
  /** The backend's name for the case's layer (a tfjs tap name or an ONNX tensor name). */
  readonly layer?: string;
}

/** Runs one conformance method through the library's public API. */
export type Runner = <T>(c: ConformanceCase, ctx: CaseContext<T>) => Promise<RunOutput<T>>;

const asList = <T>(x: T | readonly T[]): readonly T[] => (Array.isArray(x) ? (x as readonly T[]) : [x as T]);

function baselinesOf<T>(c: ConformanceCase, ctx: CaseContext<T>): (number | T)[] | undefined {
  return c.baselines?.map((b) => (typeof b === 'number' ? b : ctx.tensor(b)));
}

function targetOf(c: ConformanceCase): number | readonly number[] | undefined {
  return c.target ?? undefined;
}

/** Runs a primary method through its registry entry. */
function primaryRunner(name: string): Runner {
  return async (c, ctx) => {
    const method = primaryMethods[name] as MethodEntry;
    const options = {
      target: targetOf(c),
      ...(method.baselines ? { baselines: baselinesOf(c, ctx) } : {}),
      ...(method.featureMask && c.featureMask ? { featureMask: c.featureMask.map((m) => ctx.tensor(m)) } : {}),
      ...(c.options as object),
    };
    const result = await method.create(ctx.model).attribute([...ctx.inputs], options);
    return { attributions: asList(result.attributions), delta: result.delta };
  };
}

function layerOf<T>(c: ConformanceCase, ctx: CaseContext<T>): string {
  if (!ctx.layer) throw new Error(`case ${c.id} names no layer`);
  return ctx.layer;
}

/** Runs a layer method through its registry entry. */
function layerRunner(name: string): Runner {
  return async (c, ctx) => {
    const method = layerMethods[name]!;
    const options = {
      target: targetOf(c),
      ...(method.baselines ? { baselines: baselinesOf(c, ctx) } : {}),
      // A layer case's feature mask is over the layer (LayerFeatureAblation's and LayerFeaturePermutation's `layerMask`).
      ...(c.featureMask?.[0] ? { layerMask: ctx.tensor(c.featureMask[0]) } : {}),
      ...(c.options as object),
    };
    const result = await method.create(ctx.model, layerOf(c, ctx)).attribute([...ctx.inputs], options);
    return { attributions: asList(result.attributions), delta: result.delta };
  };
}

/** Runs a neuron method through its registry entry. */
function neuronRunner(name: string): Runner {
  return async (c, ctx) => {
    const method = neuronMethods[name]!;
    const options = {
      neuronSelector: c.neuron,
      ...(method.target ? { target: targetOf(c) } : {}),
      ...(method.baselines ? { baselines: baselinesOf(c, ctx) } : {}),
      ...(c.options as object),
    };
    const result = await method.create(ctx.model, layerOf(c, ctx)).attribute([...ctx.inputs], options as never);
    return { attributions: asList(result.attributions) };
  };
}

const runnersOf = (names: readonly string[], make: (name: string) => Runner): [string, Runner][] => names.map((name) => [name, make(name)]);

/** The methods the library implements, by the kebab-case name the cases use. */
export const runners: Readonly<Record<string, Runner>> = Object.fromEntries([
  ...runnersOf(Object.keys(primaryMethods), primaryRunner),
  ...runnersOf(Object.keys(layerMethods), layerRunner),
  ...runnersOf(Object.keys(neuronMethods), neuronRunner),
]);

/** The outcome of one case on one backend. */
export interface CaseResult {
  readonly id: string;
  readonly method: string;
  readonly status: 'passed' | 'failed' | 'unsupported';
  /** Largest `|got − want| / (atol + rtol·|want|)` over all compared values (≤ 1 passes). */
  readonly worst?: number;
  readonly message?: string;
}

/** Compares values elementwise: `|got − want| ≤ atol + rtol·|want|`. Returns the worst ratio and where. */
export function compareValues(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tolerance: { readonly atol: number; readonly rtol: number },
): { worst: number; index: number } {
  let worst = 0;
  let index = -1;
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as number;
    const g = got[i] as number;
    const ratio = Math.abs(g - w) / (tolerance.atol + tolerance.rtol * Math.abs(w));
    if (!(ratio <= worst)) {
      worst = Number.isNaN(ratio) ? Infinity : ratio;
      index = i;
    }
  }
  return { worst, index };
}

/** Runs a case with `runner` and checks every attribution tensor and the delta against Captum's values. */
export async function checkCase<T>(c: ConformanceCase, runner: Runner | undefined, ctx: CaseContext<T>): Promise<CaseResult> {
  if (!runner) return { id: c.id, method: c.method, status: 'unsupported' };
  const { backend } = ctx;
  const out = await runner(c, ctx);
  try {
    let worst = 0;
    const problems: string[] = [];
    const check = (label: string, got: ArrayLike<number>, want: ArrayLike<number>): void => {
      const r = compareValues(got, want, c.tolerance);
      worst = Math.max(worst, r.worst);
      if (r.worst > 1) problems.push(`${label}[${r.index}] = ${got[r.index]}, want ${want[r.index]}`);
    };
    if (out.attributions.length !== c.expected.attributions.length) {
      problems.push(`${out.attributions.length} attribution tensors, want ${c.expected.attributions.length}`);
    }
    for (let i = 0; i < Math.min(out.attributions.length, c.expected.attributions.length); i++) {
      const t = out.attributions[i] as T;
      const want = c.expected.attributions[i] as FixtureTensor;
      if (!shapesEqual(backend.shape(t), want.shape)) {
        problems.push(`attributions[${i}] has shape ${formatShape(backend.shape(t))}, want ${formatShape(want.shape)}`);
        continue;
      }
      check(`attributions[${i}]`, toNumbers(await backend.data(t)), want.data);
    }
    if (c.expected.delta) {
      if (!out.delta) problems.push('no delta returned');
      else check('delta', toNumbers(await backend.data(out.delta)), c.expected.delta);
    }
    return { id: c.id, method: c.method, status: problems.length ? 'failed' : 'passed', worst, message: problems.join('; ') || undefined };
  } finally {
    backend.dispose([...out.attributions, ...(out.delta ? [out.delta] : [])]);
  }
}

/** A backend the suite runs on: how to get each conformance model and to make tensors. */
export interface BackendUnderTest<T> {
  /** Name in reports, e.g. `tfjs-cpu` or `onnxruntime-node`. */
  readonly name: string;
  readonly backend: Backend<T>;
  /** The conformance model `name` (built or loaded once). */
  model(name: string): Promise<Model<T>>;
  /** A fixture tensor as a backend tensor. */
  tensor(fixture: FixtureTensor): T;
  /** The backend's name for a layer of conformance model `model`. */
  layerName(model: string, layer: NonNullable<ConformanceCase['layer']>): string;
  /** Frees fixture tensors made by {@link tensor}. */
  release(tensors: readonly T[]): void;
  /** Frees the models. */
  dispose(): void;
  /** Methods the library implements but not on this backend yet: reported as not yet supported. */
  readonly unsupportedMethods?: readonly string[];
}

/** Runs one case on a backend, freeing the tensors it made. */
export async function runCase<T>(c: ConformanceCase, but: BackendUnderTest<T>): Promise<CaseResult> {
  const runner = runners[c.method];
  if (!runner || but.unsupportedMethods?.includes(c.method)) return { id: c.id, method: c.method, status: 'unsupported' };
  const owned: T[] = [];
  const tensor = (f: FixtureTensor): T => {
    const t = but.tensor(f);
    owned.push(t);
    return t;
  };
  try {
    const inputs = c.inputs.map(tensor);
    const layer = c.layer ? but.layerName(c.model, c.layer) : undefined;
    return await checkCase(c, runner, { model: await but.model(c.model), backend: but.backend, inputs, tensor, layer });
  } finally {
    but.release(owned);
  }
}

/** `N of M cases passed, K not yet supported`, then one line per failure and the unsupported methods. */
export function formatReport(backendName: string, results: readonly CaseResult[]): string {
  const passed = results.filter((r) => r.status === 'passed').length;
  const unsupported = results.filter((r) => r.status === 'unsupported');
  const failed = results.filter((r) => r.status === 'failed');
  const worst = Math.max(0, ...results.filter((r) => r.status === 'passed').map((r) => r.worst ?? 0));
  const lines = [
    `${backendName}: ${passed} of ${results.length} cases passed, ${unsupported.length} not yet supported, ${failed.length} failed` +
      (passed ? ` (largest error: ${(worst * 100).toFixed(1)}% of its tolerance)` : ''),
  ];
  for (const f of failed) lines.push(`  FAILED ${f.id}: ${f.message}`);
  if (unsupported.length) {
    const methods = [...new Set(unsupported.map((u) => u.method))];
    lines.push(`  not yet supported: ${methods.join(', ')}`);
  }
  return lines.join('\n');
}
