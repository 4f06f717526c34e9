import type { NeuronSelector, RunOptions } from '@attribution/core';

/** The result of a neuron attribution call: attributions shaped like the inputs. */
export interface NeuronAttributionResult<A> {
  readonly attributions: A;
}

/** Options of every neuron method. */
export interface NeuronOptions<T> extends RunOptions {
  /** Which neuron of the layer: an index (without the batch dimension), `{ block }` or a function of the layer output. */
  readonly neuronSelector: NeuronSelector<T>;
  /** Extra positional arguments for the model, after the inputs. */
  readonly additionalForwardArgs?: unknown;
  /** Select the neuron in the layer's input instead of its output (Captum's `attribute_to_neuron_input`). */
  readonly attributeToNeuronInput?: boolean;
}
