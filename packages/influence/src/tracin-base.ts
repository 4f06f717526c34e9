import type { LossFunction } from '@attribution/core';
import { ArgumentError, type Backend, type Model } from '@attribution/tensor';
import {
  backendOf,
  checkAbort,
  checkOptionNames,
  checkTopK,
  inputList,
  labelledBatches,
  modelAndCheckpoints,
  positiveInt,
  requireLoss,
  topK,
  withCheckpoint,
  type CheckpointLoader,
  type Checkpoints,
  type InfluenceOptions,
  type InfluenceScores,
  type InputBatch,
  type KMostInfluential,
} from './common.js';

/** The options every TracIn method takes. */
export interface TracInBaseOptions<T> {
  /**
   * The checkpoints of training with their learning rates: a list, or a loader giving one at a time (required
   * unless the checkpoints are the constructor's first argument).
   */
  readonly checkpoints?: Checkpoints<T>;
  /** The per-example loss of a training example (required; see `LossFunction` in `@attribution/core`). */
  readonly lossFunc: LossFunction;
  /** The loss of a test example (default: `lossFunc`). */
  readonly testLossFunc?: LossFunction;
  /** Examples per forward pass when the training set is given as one batch (default 32). */
  readonly batchSize?: number;
}

/**
 * What the TracIn methods share: the influence of training example $z$ on test example $z'$ is
 * $\sum_c \eta_c \, \langle \phi_c(z'), \phi_c(z) \rangle$ over checkpoints $c$ with learning rate $\eta_c$, where
 * $\phi_c$ is a per-example quantity of the checkpoint — the loss gradient with respect to the parameters
 * (TracInCP), or the pair (output gradient, final layer input) whose product stands for it (TracInCPFast). A
 * subclass says what $\phi_c$ is ({@link features}) and how two pair up ({@link pair}).
 *
 * Checkpoints are visited one at a time (each loaded once per call); for each, the test quantities are kept and the
 * training set is streamed batch by batch, so memory holds the score matrix, the test quantities and one batch's.
 */
export abstract class TracInBase<T, F> {
  protected readonly loader: CheckpointLoader<T>;
  /** The model of checkpoints that bring none (undefined when the checkpoints were the first argument). */
  readonly model: Model<T> | undefined;
  protected readonly lossFunc: LossFunction;
  protected readonly testLossFunc: LossFunction;
  protected readonly batchSize: number;
  private backendCache: Backend<T> | undefined;

  constructor(
    model: Model<T> | Checkpoints<T>,
    readonly trainDataset: unknown,
    options: TracInBaseOptions<T>,
    known: readonly string[],
  ) {
    checkOptionNames(options, known, 'options');
    if (options === undefined) throw new ArgumentError('options', '{ checkpoints, lossFunc, … }', 'undefined');
    ({ model: this.model, loader: this.loader } = modelAndCheckpoints<T>(model, options.checkpoints));
    this.lossFunc = requireLoss(options.lossFunc, 'options.lossFunc');
    this.testLossFunc = options.testLossFunc === undefined ? this.lossFunc : requireLoss(options.testLossFunc, 'options.testLossFunc');
    this.batchSize = positiveInt(options.batchSize, 'options.batchSize', 32);
  }

  /** Fails early on a training set that cannot be traversed several times (called by subclasses once set up). */
  protected checkDataset(): void {
    if (this.model) labelledBatches(this.model.backend, this.trainDataset, this.batchSize, 'trainDataset');
  }

  /** The backend (of the model, or of the first checkpoint's model, found once). */
  protected async backend(): Promise<Backend<T>> {
    this.backendCache ??= await backendOf(this.model, this.loader);
    return this.backendCache;
  }

  /** The per-example quantity $\phi_c$ of each of `rows` labelled examples, at the checkpoint whose model is `model`. */
  protected abstract features(model: Model<T>, inputs: T[], labels: unknown, loss: LossFunction, rows: number): Promise<F[]>;

  /** $\langle \phi_c(z'), \phi_c(z) \rangle$. */
  protected abstract pair(a: F, b: F): number;

  /**
   * Influence scores of every training example on each test example, `[nTest][nTrain]`; with `k`, the `k`
   * proponents (largest scores) or opponents (smallest) of each test example.
   * @param inputs - the test examples' inputs (one tensor, or one per model input).
   * @param labels - their labels (the forms of the test loss).
   */
  influence(inputs: InputBatch<T>, labels: unknown, options?: InfluenceOptions & { readonly k?: undefined }): Promise<InfluenceScores>;
  influence(inputs: InputBatch<T>, labels: unknown, options: InfluenceOptions & { readonly k: number }): Promise<KMostInfluential>;
  async influence(inputs: InputBatch<T>, labels: unknown, options?: InfluenceOptions): Promise<InfluenceScores | KMostInfluential> {
    const { k, proponents } = checkTopK(options);
    const b = await this.backend();
    const test = inputList(b, inputs, 'inputs');
    const scores: number[][] = Array.from({ length: test.rows }, () => []);
    let nTrain = -1;
    await this.eachCheckpoint(this.trainDataset, 'trainDataset', options?.signal, async (model) => this.features(model, test.inputs, labels, this.testLossFunc, test.rows), (tests, train, j, lr, first) => {
      for (let t = 0; t < test.rows; t++) {
        const row = scores[t] as number[];
        for (let r = 0; r < train.length; r++) row[j + r] = (first ? 0 : (row[j + r] as number)) + lr * this.pair(tests[t] as F, train[r] as F);
      }
    }, (count) => {
      if (nTrain >= 0 && count !== nTrain) throw new ArgumentError('trainDataset', `the same ${nTrain} examples on every traversal`, `${count} examples`);
      nTrain = count;
    });
    return k === undefined ? scores : topK(scores, k, proponents);
  }

  /**
   * Self influence (Captum's `self_influence`): $\sum_c \eta_c \langle \phi_c(z), \phi_c(z) \rangle$ of each example
   * of `dataset` (default: the training set), in dataset order.
   * @param dataset - labelled examples: a dataset of labelled batches or one labelled batch.
   */
  async selfInfluence(dataset?: unknown, options?: { readonly signal?: AbortSignal }): Promise<number[]> {
    checkOptionNames(options, ['signal'], 'options');
    const out: number[] = [];
    await this.eachCheckpoint(dataset ?? this.trainDataset, dataset === undefined ? 'trainDataset' : 'dataset', options?.signal, async () => [], (_tests, batch, j, lr, first) => {
      batch.forEach((f, r) => (out[j + r] = (first ? 0 : (out[j + r] as number)) + lr * this.pair(f, f)));
    });
    return out;
  }

  /**
   * For each checkpoint: `prepare` (the test quantities), then `visit` for each batch of `data` with its quantities
   * and the position of its first example; `done` gets the number of examples traversed.
   */
  private async eachCheckpoint(
    data: unknown,
    argument: string,
    signal: AbortSignal | undefined,
    prepare: (model: Model<T>, lr: number) => Promise<F[]>,
    visit: (tests: F[], batch: F[], start: number, lr: number, first: boolean) => void,
    done?: (count: number) => void,
  ): Promise<void> {
    const b = await this.backend();
    const batches = labelledBatches(b, data, this.batchSize, argument);
    for (let c = 0; c < this.loader.count; c++) {
      checkAbort(signal);
      await withCheckpoint(this.loader, c, this.model, async (model, lr) => {
        const tests = await prepare(model, lr);
        let j = 0;
        for await (const batch of batches()) {
          try {
            checkAbort(signal);
            const train = await this.features(model, batch.inputs, batch.labels, this.lossFunc, batch.rows);
            visit(tests, train, j, lr, c === 0);
            j += batch.rows;
          } finally {
            b.dispose(batch.owned);
          }
        }
        done?.(j);
      });
    }
  }
}
