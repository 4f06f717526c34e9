import type { LossFunction } from '@attribution/core';
import { ArgumentError, describeValue, lastLayerParameters, type LayerRef, type Model } from '@attribution/tensor';
import { dot, outputGradientsAndLayerInput, type Checkpoints } from './common.js';
import { TracInBase, type TracInBaseOptions } from './tracin-base.js';

/** Options of {@link TracInCPFast}. */
export interface TracInCPFastOptions<T> extends TracInBaseOptions<T> {
  /**
   * The final fully connected layer, whose output is the model output: a layer name (its input is read, as
   * Captum's forward hook does) or a {@link LayerRef} naming the tensor that feeds it (e.g. `{ layer: 'features' }`,
   * the tap before the last layer of a tfjs function model). Default: the input of the layer of the model's last
   * parameters (`lastLayerParameters`).
   */
  readonly finalLayer?: string | LayerRef;
}

/** One example at one checkpoint: the loss gradient at the output and the final layer's input. */
export interface FastFeatures {
  readonly g: Float64Array;
  readonly a: Float64Array;
}

/** The final layer option as a LayerRef (undefined: to be found from the model's last parameters). */
export function checkFinalLayer(given: unknown, argument: string): LayerRef | undefined {
  if (given === undefined) return undefined;
  if (typeof given === 'string' && given.length > 0) return { layer: given, side: 'input' };
  if (given !== null && typeof given === 'object' && typeof (given as LayerRef).layer === 'string') return given as LayerRef;
  throw new ArgumentError(argument, "a layer name (its input is used) or a LayerRef such as { layer: 'features' }", describeValue(given));
}

/** The final layer's input as a LayerRef: the option, or the input of the layer of the model's last parameters. */
export async function finalLayerRef<T>(model: Model<T>, given: LayerRef | undefined): Promise<LayerRef> {
  if (given) return given;
  const last = await lastLayerParameters(model);
  return { layer: (last[0] as { layer: string }).layer, side: 'input' };
}

/**
 * What {@link TracInCPFast} and {@link TracInCPFastRandProj} share: the final layer, and per example the pair
 * (output gradient $\partial L/\partial z$, final layer input $a$) that stands for the final weights' gradient
 * $\partial L/\partial z \otimes a$; two pair up as $(g' \cdot g)(a' \cdot a)$.
 */
export class TracInCPFastBase<T> extends TracInBase<T, FastFeatures> {
  private layerRef: LayerRef | undefined;
  private readonly givenLayer: LayerRef | undefined;

  constructor(model: Model<T> | Checkpoints<T>, trainDataset: unknown, options: TracInCPFastOptions<T>, known: readonly string[]) {
    super(model, trainDataset, options, known);
    this.givenLayer = checkFinalLayer(options.finalLayer, 'options.finalLayer');
    this.checkDataset();
  }

  /** The final layer's input, resolved once. */
  protected async layer(model: Model<T>): Promise<LayerRef> {
    this.layerRef ??= await finalLayerRef(model, this.givenLayer);
    return this.layerRef;
  }

  /** Each example's output gradient (the loss's, on the host) and final layer input: one forward pass per batch. */
  protected async features(model: Model<T>, inputs: T[], labels: unknown, loss: LossFunction, rows: number): Promise<FastFeatures[]> {
    const s = await outputGradientsAndLayerInput(model, inputs, labels, loss, await this.layer(model), rows);
    return s.gradients.map((g, r) => ({ g, a: s.activations[r] as Float64Array }));
  }

  protected pair(x: FastFeatures, y: FastFeatures): number {
    return dot(x.g, y.g) * dot(x.a, y.a);
  }
}

/**
 * TracInCPFast (Captum's `TracInCPFast`): TracInCP restricted to the weights of the final fully connected layer,
 * computed without parameter gradients. For that layer's weight $W$ (input $a$, output $z$ = the model output), the
 * per-example gradient is the outer product $\partial L/\partial z \otimes a$, so the score is
 * $\sum_c \eta_c \, (\partial L'/\partial z' \cdot \partial L/\partial z)\,(a' \cdot a)$ — the bias is left out, as
 * in Captum. One forward pass per batch and checkpoint; no gradient calls.
 */
export class TracInCPFast<T> extends TracInCPFastBase<T> {
  /**
   * @param model - the model (its backend; the model of checkpoints that bring none), or the checkpoints themselves.
   * @param trainDataset - a dataset of labelled batches, or one labelled batch split into batches of `batchSize`.
   * @param options - checkpoints, loss, final layer.
   */
  constructor(model: Model<T> | Checkpoints<T>, trainDataset: unknown, options: TracInCPFastOptions<T>) {
    super(model, trainDataset, options, ['checkpoints', 'finalLayer', 'lossFunc', 'testLossFunc', 'batchSize']);
  }
}
