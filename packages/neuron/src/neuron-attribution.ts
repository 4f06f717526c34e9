import {
  Attribution,
  checkBoolean,
  normalizeArgs,
  prepareInputs,
  resolveLayer,
  resolveNeuron,
  type LayerName,
  type PreparedInputs,
  type ResolvedNeuron,
  type Scope,
  TargetSelection,
} from '@attribution/core';
import { ModelError, type LayerRef, type Model } from '@attribution/tensor';
import type { NeuronOptions } from './types.js';

/** What every neuron method prepares: inputs, arguments, the layer and the neuron resolved against it. */
export interface NeuronCall<T> {
  readonly x: PreparedInputs<T>;
  readonly args: readonly unknown[];
  readonly ref: LayerRef;
  readonly neuron: ResolvedNeuron<T>;
  /** The neuron's weights over the layer (ones at its positions; over `[N]` for a function selector). */
  readonly selection: TargetSelection;
  /** The gradient spec of the neuron: the layer as differentiated tensor, weighted or selected by a function. */
  readonly spec: { readonly of: LayerRef; readonly select?: (value: T) => T; readonly selection?: TargetSelection };
}

/** The root of the neuron methods: a model, the layer holding the neuron. */
export abstract class NeuronAttribution<T> extends Attribution<T> {
  constructor(
    model: Model<T>,
    /** The layer: an ONNX tensor or node name, a tfjs layer or tap name, or a LayerRef. */
    readonly layer: LayerName,
  ) {
    super(model);
    resolveLayer(layer);
  }

  /** Validates the inputs and resolves the neuron against the layer's shape (one forward pass). */
  async prepareNeuron(inputs: unknown, options: NeuronOptions<T>, scope: Scope<T>, needsGradient = true): Promise<NeuronCall<T>> {
    const b = this.backend;
    const x = await prepareInputs(b, inputs, { needsGradient });
    const args = normalizeArgs(options.additionalForwardArgs);
    const ref = resolveLayer(this.layer, checkBoolean('attributeToNeuronInput', options.attributeToNeuronInput ?? false));
    const { output, captured } = await this.model.forward({ inputs: x.tensors, args, capture: [ref] });
    scope.track([output, ...captured]);
    const layer = captured[0];
    if (!layer) throw new ModelError(`The backend returned no value for layer '${ref.layer}'.`);
    const neuron = resolveNeuron<T>(options.neuronSelector, b.shape(layer));
    scope.free([output, layer]);
    // A function selector yields one value per example: weights over an [N] tensor.
    const selection = 'selection' in neuron ? neuron.selection : TargetSelection.fromPositions([b.shape(layer)[0] as number], Int32Array.of(0));
    return {
      x,
      args,
      ref,
      neuron,
      selection,
      spec: 'selection' in neuron ? { of: ref, selection: neuron.selection } : { of: ref, select: neuron.select },
    };
  }
}
