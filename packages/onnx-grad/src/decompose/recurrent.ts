import type { Emitter } from '../emitter.js';
import { InvalidModelError } from '../errors.js';
import type { Dim } from '../graph.js';
import type { GradContext } from '../gradients/types.js';
import { DataType, attribute, attrStrings, makeTensor } from '../proto.js';

/**
 * What LSTM, GRU and RNN share when unrolled over their time steps: attributes (directions, hidden size,
 * layout, clip, activations), the sequence (the time steps, `sequence_lens` masks and the per-row reversal
 * of the reverse direction), the weights of one direction, and the assembly of Y, Y_h and Y_c.
 *
 * Semantics follow the ONNX specification as ONNX Runtime's CPU kernels compute it:
 * - rows past their `sequence_lens` keep their state and output zeros in Y; the reverse direction reads the
 *   valid prefix of each row backwards (time `len − 1 − s` at step `s`); Y_h (and Y_c) of a row of length
 *   0 is zero;
 * - `clip` bounds every gate's input to its activation, not the LSTM's cell state;
 * - activation parameters are consumed in order by the activations that take them (LSTM, GRU), or read
 *   at the direction's position (RNN); parameters whose ONNX Runtime default differs from the ONNX operator's
 *   must be given.
 */

/**
 * The most time steps a recurrent node is unrolled over (each step adds some 20 nodes per direction to the
 * gradient model, and ONNX Runtime's session creation grows faster than linearly with the node count).
 */
export const MAX_STEPS = 2048;

export type RecurrentOp = 'LSTM' | 'GRU' | 'RNN';

/** Gate blocks in W, R and half of B: LSTM i, o, f, c; GRU z, r, h; RNN one. */
const GATES: Record<RecurrentOp, number> = { LSTM: 4, GRU: 3, RNN: 1 };
/** Activations per direction: LSTM f, g, h; GRU f, g; RNN f. */
const PER_DIRECTION: Record<RecurrentOp, readonly string[]> = { LSTM: ['Sigmoid', 'Tanh', 'Tanh'], GRU: ['Sigmoid', 'Tanh'], RNN: ['Tanh'] };

/**
 * The activations an RNN node may name, with their parameters: `undefined` where the function takes none,
 * a number for a default both ONNX and ONNX Runtime use, `null` where they disagree (the value must be given).
 */
const FUNCTIONS: Record<string, { readonly name: string; readonly alpha?: number | null; readonly beta?: number | null }> = {
  sigmoid: { name: 'Sigmoid' },
  tanh: { name: 'Tanh' },
  relu: { name: 'Relu' },
  softsign: { name: 'Softsign' },
  softplus: { name: 'Softplus' },
  leakyrelu: { name: 'LeakyRelu', alpha: 0.01 },
  elu: { name: 'Elu', alpha: 1 },
  hardsigmoid: { name: 'HardSigmoid', alpha: 0.2, beta: 0.5 },
  thresholdedrelu: { name: 'ThresholdedRelu', alpha: null },
  affine: { name: 'Affine', alpha: null, beta: null },
  scaledtanh: { name: 'ScaledTanh', alpha: null, beta: null },
};

/** An activation function with its parameters. */
export interface Activation {
  readonly name: string;
  readonly alpha: number;
  readonly beta: number;
}

/** One direction unrolled: Y of that direction ([seq, batch, hidden], time order) and the final states ([1, batch, hidden]). */
export interface Unrolled {
  readonly y: string;
  readonly finals: readonly string[];
}

/**
 * A cell: the new states (the hidden state first) from the step's projected input ([1, batch, width]) and the
 * previous states ([1, batch, hidden]); gates split along axis 2.
 */
export type Cell = (xt: string, states: readonly string[]) => string[];

/** A recurrent node being unrolled. */
export class Recurrent {
  readonly e: Emitter;
  /** The element type (float or double). */
  readonly type: number;
  readonly hidden: number;
  readonly directions: readonly ('forward' | 'reverse')[];
  readonly layout: number;
  readonly steps: number;
  readonly batch: Dim;
  readonly clip?: number;
  /** Per direction, the activations of its gates. */
  readonly activations: readonly (readonly Activation[])[];
  /** X as [seq, batch, input]. */
  readonly x: string;
  /** Constant sequence lengths (absent when every row has all the steps), or a run-time tensor. */
  private readonly lengths?: { readonly values?: readonly number[]; readonly runtime?: string };
  private readonly cache = new Map<string, string | undefined>();
  private readonly rows = new Map<string, string[]>();

  constructor(
    readonly c: GradContext,
    readonly op: RecurrentOp,
  ) {
    const e = c.e;
    this.e = e;
    const x = c.input(0);
    const type = c.graph.info(x).elemType;
    if (type !== DataType.FLOAT && type !== DataType.DOUBLE) c.unsupported(`element type ${e.describeType(x)} (float32 and float64 are unrolled)`);
    this.type = type;

    const direction = c.attrString('direction', 'forward');
    if (direction !== 'forward' && direction !== 'reverse' && direction !== 'bidirectional') {
      throw new InvalidModelError(`${op} node '${label(c)}' has direction '${direction}'; expected forward, reverse or bidirectional.`);
    }
    this.directions = direction === 'bidirectional' ? ['forward', 'reverse'] : [direction];
    const dirs = this.directions.length;
    this.layout = c.opset >= 14 ? c.attrInt('layout', 0) : 0;
    if (this.layout !== 0 && this.layout !== 1) throw new InvalidModelError(`${op} node '${label(c)}' has layout ${this.layout}; expected 0 or 1.`);

    const xs = c.shape(x);
    if (!xs) c.unsupported('an input X of unknown rank');
    if (xs.length !== 3) throw new InvalidModelError(`${op} node '${label(c)}' needs a 3-D input X, not one of rank ${xs.length}.`);
    const [seq, batch] = this.layout === 1 ? [xs[1], xs[0]] : [xs[0], xs[1]];
    if (typeof seq !== 'number') {
      c.unsupported('a sequence length unknown before run time (the gradient model must be built for concrete input shapes, so that the recurrence can be unrolled)');
    }
    if (seq < 1) c.unsupported('an empty sequence');
    if (seq > MAX_STEPS) c.unsupported(`a sequence of ${seq} steps (unrolling is limited to ${MAX_STEPS})`);
    this.steps = seq;
    this.batch = batch as Dim;

    const gates = GATES[op];
    const ws = c.shape(c.input(1));
    const rows = ws?.[1];
    const hiddenAttr = attribute(c.node, 'hidden_size') ? c.attrInt('hidden_size', 0) : typeof rows === 'number' ? rows / gates : undefined;
    if (hiddenAttr === undefined) c.unsupported('no hidden_size attribute and a weight W of unknown shape');
    if (!Number.isSafeInteger(hiddenAttr) || hiddenAttr < 1) throw new InvalidModelError(`${op} node '${label(c)}' has hidden_size ${hiddenAttr}; expected a positive integer.`);
    this.hidden = hiddenAttr;
    const h = hiddenAttr;
    const inputSize = xs[2];
    const expect = (i: number, what: string, want: readonly (Dim | undefined)[]): void => {
      const name = c.input(i);
      if (!name) return;
      const s = c.shape(name);
      if (!s) return;
      const fits = s.length === want.length && s.every((d, k) => typeof d !== 'number' || typeof want[k] !== 'number' || d === want[k]);
      if (!fits) throw new InvalidModelError(`${op} node '${label(c)}': ${what} has shape [${s.join(', ')}], expected [${want.map((d) => d ?? '?').join(', ')}].`);
    };
    expect(1, 'W', [dirs, gates * h, inputSize]);
    expect(2, 'R', [dirs, gates * h, h]);
    expect(3, 'B', [dirs, 2 * gates * h]);
    expect(4, 'sequence_lens', [batch]);
    const stateShape = this.layout === 1 ? [batch, dirs, h] : [dirs, batch, h];
    expect(5, 'initial_h', stateShape);
    if (op === 'LSTM') {
      expect(6, 'initial_c', stateShape);
      expect(7, 'P', [dirs, 3 * h]);
    }

    const clip = attribute(c.node, 'clip');
    if (clip) {
      if (!(clip.f > 0)) throw new InvalidModelError(`${op} node '${label(c)}' has clip ${clip.f}; expected a positive threshold.`);
      this.clip = clip.f;
    }
    this.activations = this.readActivations();
    this.x = this.layout === 1 ? e.transpose(x, [1, 0, 2]) : x;
    this.lengths = this.readLengths();
  }

  /** The activations of each direction, with their parameters resolved as ONNX Runtime resolves them. */
  private readActivations(): Activation[][] {
    const { c, op } = this;
    const dirs = this.directions.length;
    const per = PER_DIRECTION[op];
    let names = attrStrings(c.node, 'activations') ?? Array.from({ length: dirs }, () => per).flat();
    // ONNX's RNN default is ['Tanh', 'Tanh']: one direction takes the first.
    if (op === 'RNN' && dirs === 1 && names.length === 2) names = names.slice(0, 1);
    if (names.length !== per.length * dirs) {
      throw new InvalidModelError(`${op} node '${label(c)}' names ${names.length} activations; expected ${per.length * dirs} (${per.length} per direction).`);
    }
    const alphas = attribute(c.node, 'activation_alpha')?.floats;
    const betas = attribute(c.node, 'activation_beta')?.floats;
    let nextAlpha = 0;
    let nextBeta = 0;
    const resolved = names.map((name, k): Activation => {
      const f = FUNCTIONS[name.toLowerCase()];
      if (!f) return c.unsupported(`activation '${name}' (supported: ${Object.values(FUNCTIONS).map((v) => v.name).join(', ')})`);
      // ONNX Runtime's RNN kernel matches names exactly (another spelling silently becomes Tanh).
      if (op === 'RNN' && name !== f.name) c.unsupported(`activation '${name}' (ONNX Runtime reads RNN activation names case-sensitively; write '${f.name}')`);
      const param = (which: 'alpha' | 'beta'): number => {
        const fallback = f[which];
        if (fallback === undefined) return 0;
        const list = which === 'alpha' ? alphas : betas;
        let value: number | undefined;
        if (op === 'RNN') {
          // ONNX Runtime's RNN reads activation_alpha[direction] (0 when the attribute is absent).
          value = list?.[k];
        } else if (which === 'alpha') {
          value = list && nextAlpha < list.length ? list[nextAlpha++] : undefined;
        } else {
          value = list && nextBeta < list.length ? list[nextBeta++] : undefined;
        }
        if (value !== undefined) return value;
        if (fallback === null || op === 'RNN') {
          return c.unsupported(`activation ${f.name} without an explicit activation_${which} (ONNX Runtime's default differs from the ONNX operator's)`);
        }
        return fallback;
      };
      const alpha = param('alpha');
      const beta = param('beta');
      return { name: f.name, alpha, beta };
    });
    return Array.from({ length: dirs }, (_, d) => resolved.slice(d * per.length, (d + 1) * per.length));
  }

  /** The sequence lengths: constant values (validated), a run-time int64 column [batch, 1], or none. */
  private readLengths(): { values?: number[]; runtime?: string } | undefined {
    const { c, e, op } = this;
    const name = c.input(4);
    if (!name) return undefined;
    const values = c.constant(4);
    if (values) {
      if (typeof this.batch === 'number' && values.length !== this.batch) {
        throw new InvalidModelError(`${op} node '${label(c)}' has ${values.length} sequence lengths for a batch of ${this.batch}.`);
      }
      if (!values.every((v) => Number.isInteger(v) && v >= 0 && v <= this.steps)) {
        throw new InvalidModelError(`${op} node '${label(c)}' has sequence lengths [${values.join(', ')}]; expected integers from 0 to ${this.steps}.`);
      }
      return values.every((v) => v === this.steps) ? undefined : { values };
    }
    const lengths = e.op('Cast', [name], { to: DataType.INT64 });
    return { runtime: e.unsqueeze(lengths, [1]) };
  }

  /** A scalar of the node's element type. */
  scalar(value: number): string {
    return this.e.constant([value], this.type, []);
  }

  /** `Split` into parts of the given sizes along an axis (opset-aware). */
  split(x: string, axis: number, sizes: readonly number[]): string[] {
    const { e } = this;
    if (sizes.length === 1) return [x];
    return e.opset >= 13 ? e.opN('Split', [x, e.ints(sizes)], sizes.length, { axis }) : e.opN('Split', [x], sizes.length, { axis, split: [...sizes] });
  }

  /**
   * The rows of a tensor whose first dimension is the direction, that dimension kept or squeezed (Split
   * rather than Gather: its gradient is one Concat).
   */
  private rowsOf(tensor: string, squeeze: boolean): string[] {
    const key = `${squeeze ? 'squeezed' : 'rows'}/${tensor}`;
    let rows = this.rows.get(key);
    if (!rows) {
      const { e } = this;
      rows = this.split(tensor, 0, new Array<number>(this.directions.length).fill(1));
      if (squeeze) rows = rows.map((part) => e.squeeze(part, [0]));
      this.rows.set(key, rows);
    }
    return rows;
  }

  /** Row `d` of input `i` (a weight, bias or peephole tensor whose first dimension is the direction). */
  direction(i: number, d: number): string {
    return this.rowsOf(this.c.input(i), true)[d] as string;
  }

  /** The initial state of direction `d` from input `i` ([1, batch, hidden]), undefined when absent (zeros). */
  initial(i: number, d: number): string | undefined {
    const name = this.c.input(i);
    if (!name) return undefined;
    let states = this.cache.get(`initial/${i}`);
    if (!states) {
      states = this.layout === 1 ? this.e.transpose(name, [1, 0, 2]) : name;
      this.cache.set(`initial/${i}`, states);
    }
    return this.rowsOf(states, false)[d] as string;
  }

  /** `x @ wᵀ` for a 2-D weight `w` ([out, in]) and x of any rank. */
  linear(x: string, w: string): string {
    return this.e.op('MatMul', [x, this.e.transpose(w, [1, 0])]);
  }

  /** Clips a gate's input to [−clip, clip] when the node has a clip threshold. */
  clipped(x: string): string {
    return this.clip === undefined ? x : this.e.op('Clip', [x, this.scalar(-this.clip), this.scalar(this.clip)]);
  }

  /** Applies an activation function. */
  activate(x: string, f: Activation): string {
    const { e } = this;
    switch (f.name) {
      case 'LeakyRelu':
      case 'Elu':
      case 'ThresholdedRelu':
        return e.op(f.name, [x], { alpha: { f: f.alpha } });
      case 'HardSigmoid':
        return e.op(f.name, [x], { alpha: { f: f.alpha }, beta: { f: f.beta } });
      case 'Affine':
        return e.add(e.mul(x, this.scalar(f.alpha)), this.scalar(f.beta));
      case 'ScaledTanh':
        return e.mul(e.op('Tanh', [e.mul(x, this.scalar(f.beta))]), this.scalar(f.alpha));
      default:
        return e.op(f.name, [x]);
    }
  }

  /** Zeros [1, batch, hidden]. */
  private zeros(): string {
    const { e } = this;
    let z = this.cache.get('zeros');
    if (!z) {
      const shape = typeof this.batch === 'number' ? e.ints([1, this.batch, this.hidden]) : e.op('Concat', [e.ints([1]), e.dim(this.x, 1), e.ints([this.hidden])], { axis: 0 });
      z = e.op('ConstantOfShape', [shape], { value: { t: makeTensor('', this.type, [1], [0]) } });
      this.cache.set('zeros', z);
    }
    return z;
  }

  /** Whether each row is still within its length at step `s` (bool [batch, 1]); undefined when all are. */
  private valid(s: number): string | undefined {
    const lengths = this.lengths;
    if (!lengths) return undefined;
    const key = `valid/${s}`;
    if (this.cache.has(key)) return this.cache.get(key);
    const { e } = this;
    let mask: string | undefined;
    if (lengths.values) {
      const rows = lengths.values.map((v) => (s < v ? 1 : 0));
      mask = rows.every((v) => v === 1) ? undefined : e.constant(rows, DataType.BOOL, [rows.length, 1]);
    } else {
      mask = e.op('Less', [e.ints([s]), lengths.runtime as string]);
    }
    this.cache.set(key, mask);
    return mask;
  }

  /** Whether each row has at least one step (bool [batch, 1]); undefined when all have. */
  private nonEmpty(): string | undefined {
    const lengths = this.lengths;
    if (!lengths) return undefined;
    const { e } = this;
    if (lengths.values) {
      const rows = lengths.values.map((v) => (v > 0 ? 1 : 0));
      return rows.every((v) => v === 1) ? undefined : e.constant(rows, DataType.BOOL, [rows.length, 1]);
    }
    return e.op('Greater', [lengths.runtime as string, e.ints([0])]);
  }

  /**
   * Reverses the valid prefix of each row of a [seq, batch, width] tensor along time: row b at time t takes
   * time len_b − 1 − t for t < len_b, else t (the permutation is its own inverse).
   */
  private reverseRows(t: string, width: number): string {
    const { e } = this;
    const lengths = this.lengths;
    const T = this.steps;
    let index = this.cache.get('reverse');
    if (!index) {
      if (lengths?.values) {
        const values = lengths.values;
        const data: number[] = [];
        for (let s = 0; s < T; s++) for (const v of values) data.push(s < v ? v - 1 - s : s);
        index = e.constant(data, DataType.INT64, [T, values.length, 1]);
      } else {
        const row = e.op('Transpose', [lengths?.runtime as string], { perm: [1, 0] });
        const time = e.constant(Array.from({ length: T }, (_, s) => s), DataType.INT64, [T, 1]);
        const reversed = e.sub(e.sub(row, e.ints([1])), time);
        const inside = e.op('Less', [time, row]);
        index = e.unsqueeze(e.op('Where', [inside, reversed, time]), [2]);
      }
      this.cache.set('reverse', index);
    }
    return e.op('GatherElements', [t, e.op('Expand', [index, e.ints([1, 1, width])])], { axis: 0 });
  }

  /**
   * Runs one direction over the sequence. `xw` is the input projection [seq, batch, width] in time order,
   * `init` the initial states (undefined: zeros), `cell` one step. Rows past their length keep their states
   * and output zeros.
   */
  unroll(reverse: boolean, xw: string, width: number, init: readonly (string | undefined)[], cell: Cell): Unrolled {
    const { e } = this;
    const T = this.steps;
    const masked = this.lengths !== undefined;
    const source = reverse && masked ? this.reverseRows(xw, width) : xw;
    // Every step works on [1, batch, ·] slices: no squeezing and unsqueezing (and their gradients) per step.
    const inputs = this.split(source, 0, new Array<number>(T).fill(1));
    const zero = this.scalar(0);
    let states = init.map((s) => s ?? this.zeros());
    const outputs: string[] = [];
    for (let s = 0; s < T; s++) {
      const xt = inputs[reverse && !masked ? T - 1 - s : s] as string;
      const next = cell(xt, states);
      const valid = this.valid(s);
      if (valid) {
        outputs.push(e.op('Where', [valid, next[0] as string, zero]));
        states = next.map((n, k) => e.op('Where', [valid, n, states[k] as string]));
      } else {
        outputs.push(next[0] as string);
        states = next;
      }
    }
    const ordered = reverse && !masked ? outputs.reverse() : outputs;
    let y = ordered.length === 1 ? (ordered[0] as string) : e.op('Concat', ordered, { axis: 0 });
    if (reverse && masked) y = this.reverseRows(y, this.hidden);
    const nonEmpty = this.nonEmpty();
    // A row of length 0 has zero final states (not its initial ones), as ONNX Runtime computes.
    const finals = states.map((f, k) => (nonEmpty && init[k] ? e.op('Where', [nonEmpty, f, zero]) : f));
    return { y, finals };
  }

  /** Y, Y_h (and Y_c) from the directions, in the node's layout. */
  outputs(results: readonly Unrolled[]): string[] {
    const { e } = this;
    const stack = (parts: string[], axis: number): string => (parts.length === 1 ? (parts[0] as string) : e.op('Concat', parts, { axis }));
    let y = stack(results.map((r) => e.unsqueeze(r.y, [1])), 1);
    if (this.layout === 1) y = e.transpose(y, [2, 0, 1, 3]);
    const states = (results[0]?.finals ?? []).map((_, k) => {
      const s = stack(results.map((r) => r.finals[k] as string), 0);
      return this.layout === 1 ? e.transpose(s, [1, 0, 2]) : s;
    });
    return [y, ...states];
  }
}

function label(c: GradContext): string {
  return c.node.name || c.node.output.find((o) => o) || c.node.opType;
}
