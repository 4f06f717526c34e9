import { hostBackend, type OnnxModel, type OrtModule, type HostTensor } from '@attribution/onnx';
import { normalizeArgs, normalizeTarget, resolveTarget, targetRowLimit, withScope } from '@attribution/core';
import { layerMethods } from '@attribution/layer';
import { neuronMethods } from '@attribution/neuron';
import { primaryMethods } from '@attribution/primary';
import { ArgumentError, closestName } from '@attribution/tensor';
import { parseLimits, type Limits } from './limits.js';
import { parseNeuron, parseOptions, parseTarget, readLabels, readTensor } from './read.js';

/** The flags that choose and configure a method, shared by `explain` and `explain-dataset`. */
export interface MethodFlags {
  method: string;
  baseline: string[];
  featureMask: string[];
  target?: string;
  /** `--target-mask <file>`: a weight tensor over the output (a `{ mask }` target), instead of `--target`. */
  targetMask?: string;
  /** `--labels <file>`: the class names of the model output (one per line, or a .json array). */
  labels?: string;
  layer?: string;
  neuron?: string;
  options?: string;
  /** `--gradient graph|finite-difference`: how the model's gradients are computed. */
  gradient?: string;
  /** `--limit name=value`: resource limits raised or lowered (see {@link parseLimits}). */
  limit?: string[];
  /** `--ep cuda,cpu`: the ONNX Runtime execution providers, in order of preference. */
  ep?: string;
  /** false with `--no-cache`: no on-disk cache of built gradient models. */
  cache?: boolean;
}

/** The `fromOnnx` options the flags ask for: the explained output, how gradients are computed, the class names. */
export function modelOptions(
  o: { output?: string; gradient?: string; ep?: string; cache?: boolean },
  limits?: Limits,
  labels?: readonly string[],
): { output?: string; gradient?: 'graph' | 'finite-difference'; limits?: { maxNodes: number; maxConstantElements: number }; labels?: readonly string[]; executionProviders?: readonly string[]; cache?: boolean } {
  if (o.gradient !== undefined && o.gradient !== 'graph' && o.gradient !== 'finite-difference') {
    throw new ArgumentError('--gradient', "'graph' (the backward graph, default) or 'finite-difference' (two forward passes per input element)", `'${o.gradient}'`);
  }
  const providers = parseProviders(o.ep);
  return {
    ...(providers ? { executionProviders: providers } : {}),
    ...(o.cache === false ? { cache: false } : {}),
    ...(o.output ? { output: o.output } : {}),
    ...(o.gradient ? { gradient: o.gradient } : {}),
    ...(limits ? { limits: { maxNodes: limits.gradientNodes, maxConstantElements: limits.gradientConstant } } : {}),
    ...(labels ? { labels } : {}),
  };
}

/** The help of `--no-cache`. */
export const NO_CACHE_HELP = 'build gradient models afresh: do not read or write the on-disk cache of built gradient models ($XDG_CACHE_HOME/attribution; attribution cache info / clear)';

/** The help of `--ep`. */
export const EP_HELP = "the ONNX Runtime execution providers, in order of preference: cuda, tensorrt (onnxruntime-node's GPU build on an NVIDIA GPU), coreml, dml, cpu; with --runtime web: webgpu, webnn, wasm (e.g. cuda,cpu; default: the runtime's CPU provider)";

/** Parses `--ep cuda,cpu` into provider names (checked by fromOnnx when the first session is created). */
export function parseProviders(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((p) => p.trim());
  if (names.some((n) => !/^[a-z][a-z0-9_-]*$/i.test(n))) throw new ArgumentError('--ep', 'provider names separated by commas, e.g. cuda,cpu', `'${text}'`);
  return names;
}

/** The class names of `--labels`, when given. */
export async function labelsOf(o: { labels?: string }): Promise<readonly string[] | undefined> {
  return o.labels === undefined ? undefined : readLabels(o.labels, '--labels');
}

/** Loads `onnxruntime-node` or `onnxruntime-web`. */
export async function loadRuntime(name: string): Promise<OrtModule> {
  if (name === 'node') return (await import('onnxruntime-node')) as unknown as OrtModule;
  if (name === 'web') {
    try {
      return (await import('onnxruntime-web')) as unknown as OrtModule;
    } catch {
      throw new ArgumentError('--runtime', "an installed runtime ('web' needs the onnxruntime-web package)", `'${name}'`);
    }
  }
  throw new ArgumentError('--runtime', "'node' or 'web'", `'${name}'`);
}

/** A method of any family, as the CLI runs it. */
export interface CliMethod {
  readonly family: 'primary' | 'layer' | 'neuron';
  readonly className: string;
  readonly baselines: boolean;
  readonly featureMask: boolean;
  readonly target: boolean;
  readonly layer: boolean;
  create(model: OnnxModel, layer?: string): { attribute(inputs: HostTensor[], options: object): Promise<{ attributions: unknown; delta?: unknown }> };
}

export const METHODS: Readonly<Record<string, CliMethod>> = {
  ...Object.fromEntries(Object.entries(primaryMethods).map(([name, m]) => [name, { family: 'primary', target: true, ...m }])),
  ...Object.fromEntries(Object.entries(layerMethods).map(([name, m]) => [name, { family: 'layer', featureMask: false, target: name !== 'layer-activation', layer: true, ...m }])),
  ...Object.fromEntries(
    Object.entries(neuronMethods).map(([name, m]) => [name, { family: 'neuron', featureMask: name === 'neuron-feature-ablation', layer: true, ...m, create: (model: OnnxModel, layer?: string) => m.create(model, layer as string) }]),
  ),
} as Record<string, CliMethod>;

/** The method named by `--method`, checked against the other flags. */
export function chooseMethod(o: MethodFlags): CliMethod {
  const method = METHODS[o.method];
  if (!method) {
    const guess = closestName(o.method, Object.keys(METHODS));
    throw new ArgumentError('--method', `one of ${Object.keys(METHODS).join(', ')}`, `'${o.method}'`, guess ? `Did you mean ${guess}?` : undefined);
  }
  if (o.baseline.length > 0 && !method.baselines) throw new ArgumentError('--baseline', `no baseline: ${o.method} does not take baselines`, `${o.baseline.length}`);
  if (o.featureMask.length > 0 && !method.featureMask) throw new ArgumentError('--feature-mask', `no feature mask: ${o.method} does not take one`, `${o.featureMask.length}`);
  if (o.target !== undefined && !method.target) throw new ArgumentError('--target', `no target: ${o.method} explains ${method.family === 'neuron' ? 'a neuron (--neuron)' : 'no model output'}`, `'${o.target}'`);
  if (o.targetMask !== undefined && !method.target) throw new ArgumentError('--target-mask', `no target: ${o.method} explains ${method.family === 'neuron' ? 'a neuron (--neuron)' : 'no model output'}`, `'${o.targetMask}'`);
  if (o.targetMask !== undefined && o.target !== undefined) {
    throw new ArgumentError('--target-mask', 'either --target or --target-mask (a mask already says which outputs count, and how much)', `both (--target '${o.target}')`);
  }
  if (method.layer && o.layer === undefined) throw new ArgumentError('--layer', `a layer (an ONNX tensor or node name; list them with 'attribution inspect --layers') for ${o.method}`, 'none');
  if (!method.layer && o.layer !== undefined) throw new ArgumentError('--layer', `no layer: ${o.method} attributes to the inputs`, `'${o.layer}'`);
  if (method.family === 'neuron' && o.neuron === undefined) throw new ArgumentError('--neuron', `the neuron's index in the layer output without the batch dimension, e.g. 3 or 0,1,1, for ${o.method}`, 'none');
  if (method.family !== 'neuron' && o.neuron !== undefined) throw new ArgumentError('--neuron', `no neuron: ${o.method} is not a neuron method`, `'${o.neuron}'`);
  return method;
}


/** The method's options from the flags: target, neuron, baselines and masks read from their files, `--options`. */
export async function methodOptions(o: MethodFlags, inputCount: number, labels?: readonly string[]): Promise<Record<string, unknown>> {
  const limits = parseLimits(o.limit);
  const baselines = await Promise.all(o.baseline.map((b, i) => (b.trim() !== '' && Number.isFinite(Number(b)) ? Number(b) : readTensor(b, `--baseline #${i + 1}`, limits))));
  const masks = await Promise.all(o.featureMask.map((f, i) => readTensor(f, `--feature-mask #${i + 1}`, limits)));
  return {
    ...(o.target !== undefined ? { target: parseTarget(o.target, labels) } : {}),
    ...(o.targetMask !== undefined ? { target: { mask: await readTensor(o.targetMask, '--target-mask', limits) } } : {}),
    ...(o.neuron !== undefined ? { neuronSelector: parseNeuron(o.neuron) } : {}),
    ...(baselines.length ? { baselines: baselines.length === 1 && inputCount === 1 ? baselines[0] : baselines } : {}),
    ...(masks.length ? { featureMask: masks.length === 1 && inputCount === 1 ? masks[0] : masks } : {}),
    ...parseOptions(o.options),
  };
}

/** What a target picks per example when it is one class index each: the indices, and their names when known. */
export interface TargetClasses {
  readonly indices: readonly number[];
  readonly labels?: readonly string[];
}

/**
 * Resolves `options.target` for a batch where the CLI reports it: `'predicted'` becomes each example's predicted
 * class (the library's resolution, one forward pass; the method then gets the indices) and class names are looked
 * up in `labels`. Returns the class of each example when the target picks one index per example, else undefined.
 */
export async function resolveClasses(
  model: OnnxModel,
  options: Record<string, unknown>,
  inputs: readonly HostTensor[],
  labels: readonly string[] | undefined,
): Promise<TargetClasses | undefined> {
  const target = options.target;
  if (target === undefined || (typeof target === 'object' && !Array.isArray(target))) return undefined;
  const args = normalizeArgs(options.additionalForwardArgs);
  if (target === 'predicted') options.target = await withScope(hostBackend, (scope) => resolveTarget(model, target, inputs, args, scope, { maxRows: targetRowLimit(options) }));
  const examples = inputs[0]?.dims[0] ?? 1;
  const spec = await normalizeTarget(hostBackend, options.target, examples, labels);
  const indices = spec.kind === 'shared' && !spec.tuple ? new Array<number>(examples).fill(spec.index[0] as number) : spec.kind === 'each' && !spec.tuple ? spec.indices.map((i) => i[0] as number) : undefined;
  if (!indices) return undefined;
  return { indices, ...(labels ? { labels: indices.map((i) => labels.at(i) ?? String(i)) } : {}) };
}
