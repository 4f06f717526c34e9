import { hostNumbers, prepareLoss, symmetricEigen, type LossFunction } from '@attribution/core';
import { ArgumentError, ModelError, ShapeError, describeValue, formatShape, lastLayerParameters, toNumbers, type Backend, type Model } from '@attribution/tensor';
import {
  checkAbort,
  checkOptionNames,
  checkTopK,
  dot,
  finiteNumber,
  inputList,
  labelledBatches,
  perExampleGradients,
  positiveInt,
  requireLoss,
  resolveParameters,
  topK,
  type InfluenceOptions,
  type InfluenceScores,
  type InputBatch,
  type KMostInfluential,
  type ParameterSet,
} from './common.js';

/** Options of {@link NaiveInfluenceFunction}. */
export interface NaiveInfluenceFunctionOptions {
  /**
   * The parameters: parameter or layer names. Default: the last layer's (`lastLayerParameters`); with
   * `hessian: 'gauss-newton'`, every parameter (Captum's default). The Hessian is exact when the model output is an
   * affine function of them (a final linear layer producing the output, a linear model); see the class notes.
   */
  readonly layers?: readonly string[];
  /** The per-example loss of a training example (required). */
  readonly lossFunc: LossFunction;
  /** The loss of a test example (default: `lossFunc`). */
  readonly testLossFunc?: LossFunction;
  /** Examples per forward pass when a dataset is given as one batch (default 32). */
  readonly batchSize?: number;
  /** The examples whose summed loss the Hessian is taken of (default: the training set). */
  readonly hessianDataset?: unknown;
  /** How many of the largest eigenvalues to keep (Captum's `projection_dim`, default 50). */
  readonly projectionDim?: number;
  /** Added to the Hessian's diagonal before inverting (Captum's `hessian_reg`, default 1e-6). */
  readonly hessianReg?: number;
  /** Eigenvalues at or below it are dropped (Captum's `hessian_inverse_tol`, default 1e-5). */
  readonly hessianInverseTol?: number;
  /** The most parameters allowed (the Hessian has their square; default 2048). */
  readonly maxParameters?: number;
  /**
   * `'final-layer'` (default): only parameters of the model's last layer are accepted — there the assembled
   * Hessian is exact (when that layer's output is the model output) and equals Captum's. `'gauss-newton'`: any
   * parameters, with the Gauss–Newton matrix in place of the Hessian, which differs from Captum's exact Hessian
   * (whose negative eigenvalues Captum drops) as much as the network is curved in those parameters.
   */
  readonly hessian?: 'final-layer' | 'gauss-newton';
}

const OPTIONS = ['layers', 'lossFunc', 'testLossFunc', 'batchSize', 'hessianDataset', 'projectionDim', 'hessianReg', 'hessianInverseTol', 'maxParameters', 'hessian'];

/** The label of example `row` of a batch for a user loss (as `prepareLoss` gives it). */
async function userLabels<T>(backend: Backend<T>, labels: unknown, rows: number): Promise<(row: number) => unknown> {
  if (Array.isArray(labels) && labels.length === rows) return (i) => labels[i] as unknown;
  if (backend.isTensor(labels) && backend.shape(labels)[0] === rows) {
    const shape = backend.shape(labels);
    const data = Array.from(toNumbers(await backend.data(labels)));
    const size = shape.slice(1).reduce((a, b) => a * b, 1);
    return shape.length === 1 ? (i) => data[i] : (i) => data.slice(i * size, (i + 1) * size);
  }
  return () => labels;
}

/**
 * The Hessian of one example's loss with respect to its output row `o` (`C × C`, row-major): exact for the built-in
 * losses, by central differences in float64 for user losses.
 */
function lossHessian(loss: LossFunction, o: Float64Array, grad: Float64Array, label: unknown): Float64Array {
  const c = o.length;
  const h = new Float64Array(c * c);
  if (loss === 'cross-entropy') {
    let max = -Infinity;
    for (const v of o) max = Math.max(max, v);
    const p = o.map((v) => Math.exp(v - max));
    const z = p.reduce((s, v) => s + v, 0);
    for (let i = 0; i < c; i++) p[i] = (p[i] as number) / z;
    for (let i = 0; i < c; i++) for (let j = 0; j < c; j++) h[i * c + j] = (i === j ? (p[i] as number) : 0) - (p[i] as number) * (p[j] as number);
  } else if (loss === 'mse') {
    for (let i = 0; i < c; i++) h[i * c + i] = 2 / c;
  } else if (loss === 'neg-log') {
    // −log o_t: the gradient −1/o_t is non-zero only at the target; the second derivative is its square.
    for (let i = 0; i < c; i++) h[i * c + i] = (grad[i] as number) ** 2;
  } else {
    const f = typeof loss === 'function' ? loss : loss.loss;
    const g = typeof loss === 'function' ? undefined : loss.gradient;
    const row = Array.from(o);
    if (g) {
      for (let j = 0; j < c; j++) {
        const x = row[j] as number;
        const step = 6.0554544523933395e-6 * Math.max(1, Math.abs(x));
        row[j] = x + step;
        const up = Array.from(g(row, label));
        row[j] = x - step;
        const down = Array.from(g(row, label));
        row[j] = x;
        for (let i = 0; i < c; i++) h[i * c + j] = ((up[i] as number) - (down[i] as number)) / (2 * step);
      }
    } else {
      const at = (di: number, dj: number, si: number, sj: number): number => {
        const xi = row[di] as number;
        const xj = row[dj] as number;
        row[di] = xi + si;
        row[dj] = (row[dj] as number) + sj;
        const v = f(row, label);
        row[di] = xi;
        row[dj] = xj;
        return v;
      };
      const f0 = f(row, label);
      for (let i = 0; i < c; i++) {
        const si = 1e-4 * Math.max(1, Math.abs(row[i] as number));
        h[i * c + i] = (at(i, i, si, 0) - 2 * f0 + at(i, i, -si, 0)) / (si * si);
        for (let j = i + 1; j < c; j++) {
          const sj = 1e-4 * Math.max(1, Math.abs(row[j] as number));
          const v = (at(i, j, si, sj) - at(i, j, si, -sj) - at(i, j, -si, sj) + at(i, j, -si, -sj)) / (4 * si * sj);
          h[i * c + j] = v;
          h[j * c + i] = v;
        }
      }
    }
    for (const v of h) if (!Number.isFinite(v)) throw new ArgumentError('lossFunc', 'a loss with a finite second derivative at the model outputs', describeValue(v));
  }
  return h;
}

/**
 * NaiveInfluenceFunction (Koh & Liang, 2017; Captum's `NaiveInfluenceFunction`): the influence of training example
 * $z$ on test example $z'$ is $\nabla_\theta L(z')^\top H^{-1} \nabla_\theta L(z)$, with $H$ the Hessian of the
 * summed training loss $\sum_i L(z_i)$ with respect to the chosen parameters. As Captum, $H + \lambda I$
 * (`hessianReg`) is eigen-decomposed, eigenvalues at or below `hessianInverseTol` are dropped, the
 * `projectionDim` largest are kept, and each example is embedded as $g^\top V \Lambda^{-1/2}$; scores are dot
 * products of embeddings, self influence their squared norms.
 *
 * The Hessian is assembled from parameter gradients as $\sum_i J_i^\top \nabla^2_{o} L_i\, J_i$ ($J_i$ the Jacobian
 * of example $i$'s output with respect to the parameters, one gradient call per non-zero eigenvalue of the loss's
 * output Hessian): this is the exact Hessian when the output is affine in the chosen parameters (the final linear
 * layer of a model whose output is its output, or a linear model) and the Gauss–Newton matrix otherwise — Captum
 * differentiates twice with autograd, which the backend contract cannot. So by default only the last layer's
 * parameters are accepted; `hessian: 'gauss-newton'` accepts any, with numbers that then differ from Captum's.
 * Only for small parameter sets: the Hessian is `P × P` float64 and its eigen-decomposition costs O(P³).
 */
export class NaiveInfluenceFunction<T> {
  private readonly lossFunc: LossFunction;
  private readonly testLossFunc: LossFunction;
  private readonly batchSize: number;
  private readonly projectionDim: number;
  private readonly hessianReg: number;
  private readonly hessianInverseTol: number;
  private readonly maxParameters: number;
  private readonly hessianKind: 'final-layer' | 'gauss-newton';
  private params: ParameterSet | undefined;
  private r: { values: Float64Array; cols: number } | undefined;
  private preparing: Promise<void> | undefined;

  /**
   * @param model - the model at the checkpoint to explain.
   * @param trainDataset - a dataset of labelled batches, or one labelled batch split into batches of `batchSize`.
   * @param options - loss, parameters, Hessian settings.
   */
  constructor(
    readonly model: Model<T>,
    readonly trainDataset: unknown,
    readonly options: NaiveInfluenceFunctionOptions,
  ) {
    if (model === null || typeof model !== 'object' || typeof model.gradient !== 'function') throw new ArgumentError('model', 'a Model (from fromOnnx or fromTfjs)', describeValue(model));
    checkOptionNames(options, OPTIONS, 'options');
    if (options === undefined) throw new ArgumentError('options', '{ lossFunc, … }', 'undefined');
    this.lossFunc = requireLoss(options.lossFunc, 'options.lossFunc');
    this.testLossFunc = options.testLossFunc === undefined ? this.lossFunc : requireLoss(options.testLossFunc, 'options.testLossFunc');
    this.batchSize = positiveInt(options.batchSize, 'options.batchSize', 32);
    this.projectionDim = positiveInt(options.projectionDim, 'options.projectionDim', 50);
    this.hessianReg = finiteNumber(options.hessianReg, 'options.hessianReg', 1e-6);
    this.hessianInverseTol = finiteNumber(options.hessianInverseTol, 'options.hessianInverseTol', 1e-5);
    if (this.hessianInverseTol < 0) throw new ArgumentError('options.hessianInverseTol', 'a non-negative number (eigenvalues at or below it are dropped; their inverse square roots are taken)', describeValue(this.hessianInverseTol));
    this.maxParameters = positiveInt(options.maxParameters, 'options.maxParameters', 2048);
    const kind = options.hessian ?? 'final-layer';
    if (kind !== 'final-layer' && kind !== 'gauss-newton') throw new ArgumentError('options.hessian', "'final-layer' or 'gauss-newton'", describeValue(kind));
    this.hessianKind = kind;
    labelledBatches(model.backend, trainDataset, this.batchSize, 'trainDataset');
    if (options.hessianDataset !== undefined) labelledBatches(model.backend, options.hessianDataset, this.batchSize, 'options.hessianDataset');
  }

  private async parameters(): Promise<ParameterSet> {
    if (!this.params) {
      const finalLayer = this.hessianKind === 'final-layer';
      const lastNames = finalLayer ? (await lastLayerParameters(this.model)).map((q) => q.name) : undefined;
      const p = await resolveParameters(this.model, this.options.layers ?? lastNames, 'options.layers');
      if (finalLayer) {
        const last = new Set(lastNames);
        const others = p.names.filter((n) => !last.has(n));
        if (others.length) {
          throw new ArgumentError(
            'options.layers',
            `parameters of the model's last layer only (${[...last].join(', ')}), where the Hessian assembled from gradients is exact`,
            `${others.join(', ')}`,
            "Pass layers with the last layer's parameters, or hessian: 'gauss-newton' to use the Gauss–Newton matrix (which differs from Captum's exact Hessian there).",
          );
        }
      }
      if (p.total > this.maxParameters) {
        throw new ArgumentError('options.layers', `parameters with at most ${this.maxParameters} values in all (maxParameters; the Hessian holds their square)`, `${p.total} values (${p.names.join(', ')})`, 'Choose fewer parameters with layers, e.g. the final layer, or use TracInCP.');
      }
      this.params = p;
    }
    return this.params;
  }

  /** The Hessian of the summed loss over the Hessian dataset (`P × P`, row-major). */
  private async hessian(params: ParameterSet, signal?: AbortSignal): Promise<Float64Array> {
    const b = this.model.backend;
    const n = params.total;
    const hess = new Float64Array(n * n);
    const data = this.options.hessianDataset ?? this.trainDataset;
    for await (const batch of labelledBatches(b, data, this.batchSize, this.options.hessianDataset === undefined ? 'trainDataset' : 'options.hessianDataset')()) {
      try {
        checkAbort(signal);
        const prepared = await prepareLoss(b, this.lossFunc, batch.labels, batch.rows, this.model.labels);
        const fwd = await this.model.forward({ inputs: batch.inputs });
        b.dispose(fwd.captured);
        let out: Float64Array;
        let grad: Float64Array;
        const shape = b.shape(fwd.output);
        try {
          if (shape.length !== 2) throw new ShapeError('model output', 'an output of shape [batch, outputs] (NaiveInfluenceFunction)', `shape ${formatShape(shape)}`);
          out = hostNumbers(await b.data(fwd.output));
          const r = await prepared.compute(fwd.output);
          grad = hostNumbers(await b.data(r.gradient));
          b.dispose(r.gradient);
        } finally {
          b.dispose(fwd.output);
        }
        const c = shape[1] as number;
        const label = typeof this.lossFunc === 'string' ? () => undefined : await userLabels(b, batch.labels, batch.rows);
        for (let i = 0; i < batch.rows; i++) {
          const hl = lossHessian(this.lossFunc, out.subarray(i * c, (i + 1) * c), grad.subarray(i * c, (i + 1) * c), label(i));
          const { values, vectors } = symmetricEigen(hl, c);
          const top = Math.max(...Array.from(values, Math.abs));
          for (let e = 0; e < c; e++) {
            const lambda = values[e] as number;
            if (Math.abs(lambda) <= 1e-12 * top || lambda === 0) continue;
            const u = Float32Array.from({ length: c }, (_, k) => vectors[k * c + e] as number);
            const v = await this.vjp(batch.inputs, i, u, params);
            for (let p = 0; p < n; p++) {
              const vp = lambda * (v[p] as number);
              if (vp === 0) continue;
              for (let q = 0; q < n; q++) hess[p * n + q] = (hess[p * n + q] as number) + vp * (v[q] as number);
            }
          }
        }
      } finally {
        b.dispose(batch.owned);
      }
    }
    return hess;
  }

  /** `J_iᵀ u`: the parameter gradient of `u · output` for example `i` alone. */
  private async vjp(inputs: readonly T[], i: number, u: Float32Array, params: ParameterSet): Promise<Float64Array> {
    const b = this.model.backend;
    const xi = inputs.map((t) => {
      const s = b.shape(t);
      return b.slice(t, [i, ...s.slice(1).map(() => 0)], [1, ...s.slice(1).map(() => -1)]);
    });
    const w = b.tensor(u, [1, u.length]);
    try {
      const r = await this.model.gradient({ inputs: xi, outputWeights: w, wrt: params.names.map((param) => ({ param })) });
      b.dispose([r.output, ...r.captured]);
      const v = new Float64Array(params.total);
      let o = 0;
      for (const g of r.gradients) {
        const d = hostNumbers(await b.data(g));
        v.set(d, o);
        o += d.length;
      }
      b.dispose(r.gradients);
      return v;
    } finally {
      b.dispose([...xi, w]);
    }
  }

  /** Builds the Hessian and its inverse square root (done by the first call otherwise). */
  async prepare(options?: { readonly signal?: AbortSignal }): Promise<void> {
    checkOptionNames(options, ['signal'], 'options');
    if (this.r) return;
    this.preparing ??= (async () => {
      const params = await this.parameters();
      const n = params.total;
      const hess = await this.hessian(params, options?.signal);
      for (let i = 0; i < n; i++) hess[i * n + i] = (hess[i * n + i] as number) + this.hessianReg;
      const { values, vectors } = symmetricEigen(hess, n);
      const keep: number[] = [];
      for (let j = 0; j < n; j++) if ((values[j] as number) > this.hessianInverseTol) keep.push(j);
      const chosen = keep.slice(-this.projectionDim);
      if (chosen.length === 0) throw new ModelError('The Hessian has no eigenvalue above hessianInverseTol, so it cannot be inverted (raise hessianReg or lower hessianInverseTol).');
      const cols = chosen.length;
      const r = new Float64Array(n * cols);
      chosen.forEach((j, col) => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += vectors[i * n + j] as number;
        const sign = sum > 0 ? 1 : -1;
        const scale = sign / Math.sqrt(values[j] as number);
        for (let i = 0; i < n; i++) r[i * cols + col] = (vectors[i * n + j] as number) * scale;
      });
      this.r = { values: r, cols };
    })().catch((err: unknown) => {
      this.preparing = undefined;
      throw err;
    });
    await this.preparing;
  }

  private embedRows(grads: readonly Float64Array[]): Float64Array[] {
    const { values: r, cols } = this.r as { values: Float64Array; cols: number };
    return grads.map((g) => {
      const e = new Float64Array(cols);
      for (let i = 0; i < g.length; i++) {
        const x = g[i] as number;
        if (x === 0) continue;
        for (let j = 0; j < cols; j++) e[j] = (e[j] as number) + x * (r[i * cols + j] as number);
      }
      return e;
    });
  }

  /**
   * The embeddings $g^\top V\Lambda^{-1/2}$ of labelled examples (Captum's `compute_intermediate_quantities`),
   * one row per example; `test` uses the test loss.
   */
  async intermediateQuantities(inputs: InputBatch<T>, labels: unknown, options?: { readonly test?: boolean }): Promise<Float64Array[]> {
    checkOptionNames(options, ['test'], 'options');
    await this.prepare();
    const x = inputList(this.model.backend, inputs, 'inputs');
    const g = await perExampleGradients(this.model, x.inputs, labels, options?.test ? this.testLossFunc : this.lossFunc, await this.parameters(), x.rows);
    return this.embedRows(g);
  }

  /** Scores `[nTest][nTrain]`, or with `k` the `k` proponents / opponents of each test example. */
  influence(inputs: InputBatch<T>, labels: unknown, options?: InfluenceOptions & { readonly k?: undefined }): Promise<InfluenceScores>;
  influence(inputs: InputBatch<T>, labels: unknown, options: InfluenceOptions & { readonly k: number }): Promise<KMostInfluential>;
  async influence(inputs: InputBatch<T>, labels: unknown, options?: InfluenceOptions): Promise<InfluenceScores | KMostInfluential> {
    const { k, proponents } = checkTopK(options);
    await this.prepare({ signal: options?.signal });
    const test = await this.intermediateQuantities(inputs, labels, { test: true });
    const b = this.model.backend;
    const scores: number[][] = test.map(() => []);
    const params = await this.parameters();
    for await (const batch of labelledBatches(b, this.trainDataset, this.batchSize, 'trainDataset')()) {
      try {
        checkAbort(options?.signal);
        const e = this.embedRows(await perExampleGradients(this.model, batch.inputs, batch.labels, this.lossFunc, params, batch.rows));
        test.forEach((t, i) => {
          for (const row of e) (scores[i] as number[]).push(dot(t, row));
        });
      } finally {
        b.dispose(batch.owned);
      }
    }
    return k === undefined ? scores : topK(scores, k, proponents);
  }

  /** Self influence $\lVert g^\top V\Lambda^{-1/2} \rVert^2$ of each example of `dataset` (default: the training set). */
  async selfInfluence(dataset?: unknown, options?: { readonly signal?: AbortSignal }): Promise<number[]> {
    checkOptionNames(options, ['signal'], 'options');
    await this.prepare({ signal: options?.signal });
    const b = this.model.backend;
    const params = await this.parameters();
    const out: number[] = [];
    for await (const batch of labelledBatches(b, dataset ?? this.trainDataset, this.batchSize, dataset === undefined ? 'trainDataset' : 'dataset')()) {
      try {
        checkAbort(options?.signal);
        for (const e of this.embedRows(await perExampleGradients(this.model, batch.inputs, batch.labels, this.lossFunc, params, batch.rows))) out.push(dot(e, e));
      } finally {
        b.dispose(batch.owned);
      }
    }
    return out;
  }
}
