import * as tf from '@tensorflow/tfjs-core';
import { ArgumentError, BackendError, describeChoices, type BackwardRule, type LrpLayerRule, type LrpRequest } from '@attribution/tensor';
import { activeTape } from './hooks.js';
import { kernelCall } from './input-gradients.js';

/**
 * Layer-wise relevance propagation on TensorFlow.js (Captum's `LRP` rules), by rewriting the gradient of each
 * node of the recorded gradient tape.
 *
 * The backward pass carries `g` with relevance `R_t = t ⊙ g_t` at every tensor `t`, so that tfjs's own walk of
 * the tape does the routing (reshapes, transposes, concatenations, broadcasts) and the result is `x ⊙ g_x`.
 * In these terms Captum's rules are:
 * - a linear kernel `y = W x` (`MatMul`, `Conv2D`, depthwise convolution, batch normalisation), with the bias
 *   `z = y + b` (fused, or an `Add` of a constant after it, through reshapes): `g_x = W'ᵀ (g_z ⊙ z / (z' + ε·sign z'))`
 *   with `W' = W` and `z' = z` (epsilon), `W' = W + γ W⁺` (gamma) or `W' = W⁺` (alpha1beta0),
 *   `z' = W' x + b` (or `W' x` with `setBiasToZero`), sign(0) = 1;
 * - pooling (`MaxPool`, `AvgPool`, `Mean`, `Max`): the same with its ordinary gradient as `Wᵀ`;
 * - an `Add` of two varying tensors (Captum's `Addition_Module`): `g_a = g_b = g_z ⊙ z / (z + ε·sign z)`;
 * - ReLU, Tanh (and Dropout, identity at inference) pass relevance through: `g_x = g_z ⊙ f(x) / x`, which is
 *   ReLU's ordinary gradient;
 * - reshapes, transposes, slices, padding and concatenation move it like a gradient.
 * Any other kernel on the way from the differentiated tensors to the output is refused with an
 * {@link UnsupportedLrpLayerError} naming its layer, as Captum refuses a module without a rule.
 */

/** A layer LRP has no rule for on TensorFlow.js (Captum refuses such modules too). */
export class UnsupportedLrpLayerError extends BackendError {
  constructor(
    /** The layer (or tapped layer) that ran the kernel, when known. */
    readonly layer: string | undefined,
    /** The tfjs kernel without an LRP rule. */
    readonly kernel: string,
  ) {
    super(
      `LRP has no rule for the TensorFlow.js op '${kernel}'${layer ? ` in layer '${layer}'` : ''}. Captum's LRP refuses layers without a rule: ` +
        'its defaults cover linear, convolution, pooling and batch-norm layers, and ReLU, Tanh and Dropout pass relevance through. ' +
        `Assign a rule to the layer${layer ? ` (rules: { '${layer}': { rule: 'identity' } })` : ''} if one suits it, or use another method.`,
    );
    this.name = 'UnsupportedLrpLayerError';
  }
}

/** Whether a backward rule asks for LRP. */
export function isLrp(rule: BackwardRule | undefined): rule is LrpRequest {
  return typeof rule === 'object' && rule !== null && 'lrp' in rule;
}

interface TapeNode {
  readonly id: number;
  readonly kernelName: string;
  readonly inputs: Record<string, tf.Tensor>;
  readonly outputs: tf.Tensor[];
  readonly saved?: tf.Tensor[];
  gradient?: (dys: tf.Tensor[]) => Record<string, () => tf.Tensor>;
}
type Gradient = NonNullable<TapeNode['gradient']>;
/** Keeps a copy of a forward tensor for the backward pass. */
type Hold = (t: tf.Tensor) => tf.Tensor;

interface WeightedSpec {
  /** The unfused kernel, re-run with modified weights. */
  readonly unfused: string;
  /** The operands' names on the tape node (fused ops are custom gradients with inputs '0', '1', '2' = bias). */
  readonly pair: readonly [string, string];
  /** The operands' names for the unfused kernel. */
  readonly names: readonly [string, string];
  readonly fused: boolean;
}
const conv = (unfused: string, fused: boolean): WeightedSpec => ({ unfused, pair: fused ? ['0', '1'] : ['x', 'filter'], names: ['x', 'filter'], fused });
const matMul = (fused: boolean): WeightedSpec => ({ unfused: tf.BatchMatMul, pair: fused ? ['0', '1'] : ['a', 'b'], names: ['a', 'b'], fused });
const WEIGHTED: Readonly<Record<string, WeightedSpec>> = {
  [tf.Conv2D]: conv(tf.Conv2D, false),
  [tf.FusedConv2D]: conv(tf.Conv2D, true),
  [tf.DepthwiseConv2dNative]: conv(tf.DepthwiseConv2dNative, false),
  [tf.FusedDepthwiseConv2D]: conv(tf.DepthwiseConv2dNative, true),
  [tf.BatchMatMul]: matMul(false),
  [tf._FusedMatMul]: matMul(true),
};

/** A node's linear kernel: by its kernel name, or for a fused op (a custom gradient) by the kernel it ran. */
function weightedSpec(node: TapeNode): WeightedSpec | undefined {
  const own = WEIGHTED[node.kernelName];
  if (own && !own.fused) return own;
  const out = node.outputs[0];
  const call = out ? kernelCall(out) : undefined;
  const spec = call ? WEIGHTED[call.kernel] : undefined;
  return spec?.fused && '0' in node.inputs ? spec : undefined;
}
const POOLS = new Set<string>([tf.MaxPool, tf.AvgPool, tf.Mean, tf.Max, tf.MaxPool3D, tf.AvgPool3D]);
/** Kernels that move relevance like a gradient (ReLU's ordinary gradient is its pass-through rule). */
const ROUTING = new Set<string>([
  tf.Reshape, tf.Transpose, tf.Identity, tf.Cast, tf.PadV2, tf.Slice, tf.StridedSlice, tf.Concat, tf.SplitV, tf.Unpack, tf.Pack,
  tf.Relu, tf.Tile, tf.MirrorPad, tf.Reverse,
]);
const BIAS = new Set<string>([tf.Add, tf.AddN]);
const DEFAULT_EPSILON = 1e-9;

/** `1` where `t ≥ 0`, else `−1` (Captum's sign with sign(0) = 1). */
function sign0(t: tf.Tensor): tf.Tensor {
  return tf.where(tf.less(t, 0), tf.fill(t.shape, -1), tf.onesLike(t));
}

/** `g ⊙ z / (z' + ε·sign z')`. */
function stabilised(g: tf.Tensor, z: tf.Tensor, zPrime: tf.Tensor, epsilon: number): tf.Tensor {
  return tf.mul(g, tf.div(z, tf.add(zPrime, tf.mul(sign0(zPrime), epsilon))));
}

/** The modified weights of a rule (undefined: the weights themselves). */
function modifiedWeights(rule: LrpLayerRule, w: tf.Tensor): tf.Tensor | undefined {
  if (rule.rule === 'gamma') return tf.add(w, tf.mul(tf.relu(w), rule.gamma ?? 0.25));
  if (rule.rule === 'alpha1beta0') return tf.relu(w);
  return undefined;
}

function ruleEpsilon(rule: LrpLayerRule): number {
  return rule.rule === 'epsilon' ? (rule.epsilon ?? DEFAULT_EPSILON) : DEFAULT_EPSILON;
}

function dropsBias(rule: LrpLayerRule): boolean {
  return (rule.rule === 'gamma' || rule.rule === 'alpha1beta0') && rule.setBiasToZero === true;
}

/** The node `id` of the active tape, recorded since `start`. */
export function tapeNode(start: number, id: number): { readonly inputs: Record<string, tf.Tensor> } | undefined {
  const tape = (activeTape() ?? []) as unknown as TapeNode[];
  for (let i = start; i < tape.length; i++) if ((tape[i] as TapeNode).id === id) return tape[i];
  return undefined;
}

/**
 * Keeps every tensor the gradient tape records (inputs and outputs of each node) alive until disposed: layers
 * free their intermediate tensors inside their own `tidy`, and LRP's rules need them in the backward pass.
 * The kept tensors share their data (no copy, no kernel, nothing recorded).
 */
export class TapeKeeper {
  private readonly kept = new Map<number, tf.Tensor>();
  private restore: (() => void) | undefined;

  /** Starts keeping the tensors of the nodes recorded from now on. */
  start(): void {
    const engine = tf.engine() as unknown as { addTapeNode: (...args: unknown[]) => void };
    const original = engine.addTapeNode;
    const keep = (t: unknown): void => {
      if (!(t instanceof tf.Tensor) || t.isDisposed || this.kept.has(t.id)) return;
      // What makeVariable does: a second tensor on the same data, counted by the backend.
      const engine = tf.engine();
      const copy = engine.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
      engine.backend.incRef(t.dataId);
      this.kept.set(t.id, tf.keep(copy));
    };
    engine.addTapeNode = function (this: unknown, ...args: unknown[]) {
      const [, inputs, outputs] = args as [string, Record<string, unknown>, unknown[]];
      for (const t of Object.values(inputs ?? {})) keep(t);
      for (const t of outputs ?? []) keep(t);
      return original.apply(this, args);
    };
    this.restore = () => {
      engine.addTapeNode = original;
    };
  }

  /** Stops keeping tensors (at the end of the forward pass). */
  stop(): void {
    this.restore?.();
    this.restore = undefined;
  }

  /** The kept tensor for `t` (`t` itself when it was not recorded: an input or a weight). */
  get(t: tf.Tensor): tf.Tensor {
    return this.kept.get(t.id) ?? t;
  }

  dispose(): void {
    this.stop();
    tf.dispose([...this.kept.values()]);
    this.kept.clear();
  }
}

/** The layer name of a layer key (`name`, `name:1`, `name:input:0`). */
export function layerOfKey(key: string): string {
  return key.replace(/:input:\d+$/, '').replace(/:\d+$/, '');
}

export interface LrpTapeOptions {
  readonly request: LrpRequest;
  /** Tape position where the differentiated function started recording. */
  readonly start: number;
  /** The tensors differentiated with respect to. */
  readonly sources: readonly tf.Tensor[];
  /** Zero tensors added to layer values by the hook context: their `Add` is no layer. */
  readonly deltas: readonly tf.Tensor[];
  /** The tensor differentiated (the model output). */
  readonly output: tf.Tensor;
  /** The layer that recorded each tape node. */
  readonly layerOf: ReadonlyMap<number, string>;
  /** The model's layer names, to check the names in `rules`. */
  readonly layers: readonly string[];
  /** The tensors of the tape, kept since the forward pass started. */
  readonly keeper: TapeKeeper;
}

/**
 * Gives every node on the active tape since `start` that lies between the sources and the output its LRP
 * gradient (see above); throws for a node without a rule. The top is `R = outputWeights`, so the output node's
 * `g` is `outputWeights / output` (0 where the output is 0).
 */
export function applyLrpRules(o: LrpTapeOptions): void {
  const rules = o.request.lrp.rules ?? {};
  for (const name of Object.keys(rules)) {
    if (!o.layers.includes(name)) throw new ArgumentError(`rules['${name}']`, describeChoices("the model's layers", name, o.layers), `'${name}'`);
  }
  const tape = (activeTape() ?? []) as unknown as TapeNode[];
  const nodes = tape.slice(o.start);
  // The forward's intermediate tensors are freed before the backward pass: the rules read the kept ones.
  const hold: Hold = (t) => o.keeper.get(t);
  // Varying tensors: the sources and everything computed from them.
  const varying = new Set<number>(o.sources.map((t) => t.id));
  const deltaIds = new Set<number>(o.deltas.map((t) => t.id));
  for (const d of deltaIds) varying.add(d);
  const producer = new Map<number, TapeNode>();
  const consumers = new Map<number, TapeNode[]>();
  for (const node of nodes) {
    const ins = Object.values(node.inputs).filter((t): t is tf.Tensor => t != null);
    for (const t of ins) consumers.set(t.id, [...(consumers.get(t.id) ?? []), node]);
    for (const t of node.outputs) producer.set(t.id, node);
    if (ins.some((t) => varying.has(t.id))) for (const t of node.outputs) varying.add(t.id);
  }
  // Nodes on the way to the output.
  const needed = new Set<TapeNode>();
  const stack = [o.output.id];
  const visited = new Set<number>();
  while (stack.length > 0) {
    const id = stack.pop() as number;
    if (visited.has(id) || !varying.has(id)) continue;
    visited.add(id);
    const node = producer.get(id);
    if (!node) continue;
    needed.add(node);
    for (const t of Object.values(node.inputs)) if (t != null) stack.push(t.id);
  }
  const ruleOf = (node: TapeNode): LrpLayerRule => {
    const layer = o.layerOf.get(node.id);
    return (layer !== undefined ? rules[layer] : undefined) ?? { rule: 'epsilon' };
  };
  /** The bias add after a linear node's output (through reshapes), if any: its output and constant operand. */
  const biasAfter = (y: tf.Tensor): { z: tf.Tensor; reshapes: number } | undefined => {
    let t = y;
    for (let hops = 0; hops < 4; hops++) {
      const next = (consumers.get(t.id) ?? []).filter((n) => needed.has(n));
      if (next.length !== 1) return undefined;
      const n = next[0] as TapeNode;
      if (n.kernelName === tf.Reshape) {
        t = n.outputs[0] as tf.Tensor;
        continue;
      }
      if (BIAS.has(n.kernelName) && n.kernelName !== tf.AddN) {
        const ins = Object.values(n.inputs);
        const others = ins.filter((u) => u.id !== t.id);
        if (ins.length === 2 && others.length === 1 && !varying.has((others[0] as tf.Tensor).id)) {
          const z = n.outputs[0] as tf.Tensor;
          if (z.size !== y.size) return undefined;
          biasNodes.add(n);
          return { z, reshapes: hops };
        }
      }
      return undefined;
    }
    return undefined;
  };
  const biasNodes = new Set<TapeNode>();
  const top = producer.get(o.output.id);
  // Backwards, so that a linear node claims its bias add before the add is classified.
  for (const node of [...nodes].reverse()) if (weightedSpec(node) && needed.has(node)) biasAfter(node.outputs[0] as tf.Tensor);
  for (const node of nodes) {
    if (!needed.has(node) || !node.gradient) continue;
    const original = node.gradient;
    const layer = o.layerOf.get(node.id);
    const rule = ruleOf(node);
    let gradient: Gradient;
    if (rule.rule === 'identity' && node.outputs.length === 1) {
      gradient = identityGradient(node, original, varying, hold);
    } else if (weightedSpec(node)) {
      const biased = biasAfter(node.outputs[0] as tf.Tensor)?.z;
      gradient = linearGradient(node, weightedSpec(node) as WeightedSpec, original, rule, varying, biased && hold(biased), layer, hold);
    } else if (node.kernelName === tf.FusedBatchNorm) {
      gradient = batchNormGradient(node, original, rule, hold);
    } else if (POOLS.has(node.kernelName)) {
      const y = hold(node.outputs[0] as tf.Tensor);
      const epsilon = ruleEpsilon(rule);
      gradient = (dys) => original([stabilised(dys[0] as tf.Tensor, y, y, epsilon)]);
    } else if (BIAS.has(node.kernelName)) {
      const ins = Object.values(node.inputs);
      if (biasNodes.has(node) || ins.some((t) => deltaIds.has(t.id)) || ins.filter((t) => varying.has(t.id)).length < 2) {
        gradient = original; // a bias (its linear node divides), the hook's zero delta, or a constant offset
      } else {
        const z = hold(node.outputs[0] as tf.Tensor);
        const epsilon = ruleEpsilon(rule);
        gradient = (dys) => original([stabilised(dys[0] as tf.Tensor, z, z, epsilon)]);
      }
    } else if (node.kernelName === tf.Tanh) {
      const x = hold(node.inputs.x as tf.Tensor);
      const y = hold(node.outputs[0] as tf.Tensor);
      gradient = (dys) => ({ x: () => tf.mul(dys[0] as tf.Tensor, tf.where(tf.equal(x, 0), tf.onesLike(x), tf.divNoNan(y, x))) });
    } else if (ROUTING.has(node.kernelName)) {
      gradient = original;
    } else {
      throw new UnsupportedLrpLayerError(layer, node.kernelName);
    }
    if (node === top) {
      const y = hold(o.output);
      const inner = gradient;
      gradient = (dys) => inner([tf.divNoNan(tf.reshape(dys[0] as tf.Tensor, y.shape), y)]);
    }
    node.gradient = gradient;
  }
  if (!top) throw new BackendError('LRP needs an output computed from the inputs by TensorFlow.js operations.');
}

/** `R_x = R_z`: `g_x = g_z ⊙ z / x` (shapes must agree). */
function identityGradient(node: TapeNode, original: Gradient, varying: ReadonlySet<number>, hold: Hold): Gradient {
  const z = hold(node.outputs[0] as tf.Tensor);
  const entries = Object.entries(node.inputs)
    .filter(([, t]) => varying.has(t.id))
    .map(([name, t]) => [name, hold(t)] as const);
  return (dys) => {
    const map: Record<string, () => tf.Tensor> = {};
    const theirs = original(dys);
    for (const name of Object.keys(theirs)) map[name] = theirs[name] as () => tf.Tensor;
    for (const [name, x] of entries) {
      if (x.size !== z.size) throw new ArgumentError('rules', `the identity rule on a layer whose input and output have the same size`, `${x.shape.join('×')} → ${z.shape.join('×')}`);
      map[name] = () => tf.reshape(tf.divNoNan(tf.mul(tf.reshape(dys[0] as tf.Tensor, z.shape), z), tf.reshape(x, z.shape)), x.shape);
    }
    return map;
  };
}

/** The epsilon, gamma or alpha1beta0 rule of a linear kernel (see the file comment). */
function linearGradient(
  node: TapeNode,
  spec: WeightedSpec,
  original: Gradient,
  rule: LrpLayerRule,
  varying: ReadonlySet<number>,
  biased: tf.Tensor | undefined,
  layer: string | undefined,
  hold: Hold,
): Gradient {
  const [p, q] = spec.pair;
  const a = node.inputs[p] as tf.Tensor;
  const b = node.inputs[q] as tf.Tensor;
  if (varying.has(a.id) && varying.has(b.id)) throw new UnsupportedLrpLayerError(layer, `${node.kernelName} of two varying tensors`);
  const xFirst = varying.has(a.id);
  const [xName, wName] = xFirst ? [p, q] : [q, p];
  const [xKernel, wKernel] = xFirst ? spec.names : [spec.names[1], spec.names[0]];
  const call = kernelCall(node.outputs[0] as tf.Tensor);
  const y = hold(node.outputs[0] as tf.Tensor);
  const fused = spec.fused;
  const x = hold(node.inputs[xName] as tf.Tensor);
  const w = hold(node.inputs[wName] as tf.Tensor);
  const epsilon = ruleEpsilon(rule);
  return (dys) => {
    // The output with its bias: the Add after it (same elements, maybe reshaped), or fused.
    const z = biased === undefined ? y : tf.reshape(biased, y.shape);
    const g = tf.reshape(dys[0] as tf.Tensor, y.shape);
    const modified = modifiedWeights(rule, w);
    if (!modified) {
      const s = stabilised(g, z, z, epsilon);
      const theirs = original([s]);
      return { [xName]: theirs[xName] as () => tf.Tensor };
    }
    if (!call) throw new BackendError(`LRP's ${rule.rule} rule could not re-run op '${node.kernelName}'${layer ? ` in layer '${layer}'` : ''} (its attributes were not recorded).`);
    const config = tf.getGradient(spec.unfused);
    if (!config) throw new BackendError(`TensorFlow.js has no gradient for '${spec.unfused}'; import @tensorflow/tfjs.`);
 const run = (weights: tf.Tensor): tf.Tensor => tf.engine().runKernel(spec.unfused, { [xKernel]: x, [wKernel]: weights } as unknown as tf.NamedTensorMap, call.attrs) as tf.Tensor;
    const yk = run(modified);
    const yPrime = tf.reshape(yk, y.shape);
    let bias: tf.Tensor | undefined;
    if (z !== y) bias = tf.sub(z, y);
    else if (fused && node.inputs['2']) bias = tf.sub(y, tf.reshape(run(w), y.shape));
    const zPrime = bias && !dropsBias(rule) ? tf.add(yPrime, bias) : yPrime;
    const s = tf.reshape(stabilised(g, z, zPrime, epsilon), yk.shape);
    const operands: Record<string, tf.Tensor> = { [xKernel]: x, [wKernel]: modified };
    const [n0, n1] = spec.names;
    const grads = config.gradFunc(s, [operands[n0] as tf.Tensor, operands[n1] as tf.Tensor], call.attrs) as Record<string, () => tf.Tensor>;
    return { [xName]: () => tf.reshape((grads[xKernel] as () => tf.Tensor)(), x.shape) };
  };
}

/** Batch normalisation (inference) as the linear map `z = a·x + c`, `a = scale / √(variance + ε)`. */
function batchNormGradient(node: TapeNode, original: Gradient, rule: LrpLayerRule, hold: Hold): Gradient {
  const varianceEpsilon = kernelCall(node.outputs[0] as tf.Tensor)?.attrs.varianceEpsilon;
  const z = hold(node.outputs[0] as tf.Tensor);
  const epsilon = ruleEpsilon(rule);
  const [x, mean, variance, scale, offset] = ['x', 'mean', 'variance', 'scale', 'offset'].map((k) => (node.inputs[k] ? hold(node.inputs[k] as tf.Tensor) : undefined));
  return (dys) => {
    const g = dys[0] as tf.Tensor;
    const factor = variance && typeof varianceEpsilon === 'number' ? tf.rsqrt(tf.add(variance, varianceEpsilon)) : undefined;
    const w = scale ?? (factor ? tf.onesLike(factor) : undefined);
    const modified = w ? modifiedWeights(rule, w) : undefined;
    if (!modified || !factor || !x || !mean) {
      const theirs = original([stabilised(g, z, z, epsilon)]);
      return { x: theirs.x as () => tf.Tensor };
    }
    const a = tf.mul(factor, modified);
    const zPrime = tf.add(tf.mul(tf.sub(x, mean), a), offset && !dropsBias(rule) ? offset : 0);
    return { x: () => tf.mul(stabilised(g, z, zPrime, epsilon), a) };
  };
}
