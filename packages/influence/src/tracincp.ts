import type { LossFunction } from '@attribution/core';
import { ArgumentError, describeValue, type Model } from '@attribution/tensor';
import { dot, perExampleGradients, resolveParameters, type Checkpoints, type ParameterSet } from './common.js';
import { TracInBase, type TracInBaseOptions } from './tracin-base.js';

/** Options of {@link TracInCP}. */
export interface TracInCPOptions<T> extends TracInBaseOptions<T> {
  /**
   * Which parameters to differentiate: parameter names (`fc2.weight`, `dense/kernel`) or layer names (all of that
   * layer's parameters). Default: every parameter the model lists (Captum's default).
   */
  readonly layers?: readonly string[];
}

const OPTIONS = ['checkpoints', 'layers', 'lossFunc', 'testLossFunc', 'batchSize'];

/**
 * TracInCP (Pruthi et al., 2020; Captum's `TracInCP`): the influence of training example $z$ on test example $z'$ is
 * $\sum_c \eta_c \, \nabla_\theta L(z'; \theta_c) \cdot \nabla_\theta L(z; \theta_c)$, summed over checkpoints $c$
 * with learning rate $\eta_c$, the gradients taken with respect to the chosen parameters.
 *
 * Checkpoints are visited one at a time (each loaded once per call); for each, the test gradients are kept and the
 * training set is streamed batch by batch, so memory holds the score matrix, the test gradients and one batch's
 * gradients. Each example's gradient costs one gradient call (a batch of one: parameter gradients are summed over
 * the batch).
 *
 * @example
 * ```ts
 * const tracin = new TracInCP(model, [xTrain, yTrain], {
 *   checkpoints: files.map((f, i) => ({ model: models[i], learningRate: lrs[i] })),
 *   lossFunc: 'cross-entropy',
 * });
 * const { indices } = await tracin.influence(xTest, yTest, { k: 3 }); // the 3 proponents of each test example
 * ```
 */
export class TracInCP<T> extends TracInBase<T, Float64Array> {
  private params: ParameterSet | undefined;

  /**
   * @param model - the model (its backend; the model of checkpoints that bring none), or the checkpoints
   *   themselves (a list or a loader, each checkpoint bringing its model; `options.checkpoints` is then omitted).
   * @param trainDataset - the training set: a dataset of labelled batches (`[...inputs, labels]` or
   *   `{ inputs, labels }`), or one labelled batch holding every example, split into batches of `batchSize`.
   * @param options - checkpoints, loss, parameters.
   */
  constructor(
    model: Model<T> | Checkpoints<T>,
    trainDataset: unknown,
    readonly options: TracInCPOptions<T>,
  ) {
    super(model, trainDataset, options, OPTIONS);
    if (options.layers !== undefined && (!Array.isArray(options.layers) || options.layers.length === 0)) {
      throw new ArgumentError('options.layers', 'a non-empty array of parameter or layer names', describeValue(options.layers));
    }
    this.checkDataset();
  }

  /** Each example's loss gradient with respect to the chosen parameters (one gradient call per example). */
  protected async features(model: Model<T>, inputs: T[], labels: unknown, loss: LossFunction, rows: number): Promise<Float64Array[]> {
    this.params ??= await resolveParameters(model, this.options.layers, 'options.layers');
    return perExampleGradients(model, inputs, labels, loss, this.params, rows);
  }

  protected pair(a: Float64Array, b: Float64Array): number {
    return dot(a, b);
  }
}
