import type * as tf from '@tensorflow/tfjs-core';
import { ArgumentError, describeValue, type ParameterInfo } from '@attribution/tensor';
import { isTfTensor } from './backend.js';
import { graphParameters, type GraphModelInternals } from './graph.js';
import { layerPaths, type ContainerLike } from './hooks.js';

/** A parameter of a tfjs model: its description and the tensor the model reads (a variable, a graph weight). */
export interface TfjsParameter extends ParameterInfo {
  readonly tensor: tf.Tensor;
}

interface VariableLike {
  readonly name: string;
  read(): tf.Tensor;
}

/**
 * The trainable weights of a LayersModel, named `<layer path>/<weight>` (`dense/kernel`, `outer/inner/conv/bias`),
 * from its innermost layers (a nested model's weights are its layers').
 */
export function layersModelParameters(net: ContainerLike): TfjsParameter[] {
  const list: TfjsParameter[] = [];
  for (const [path, layer] of layerPaths(net)) {
    const l = layer as unknown as { layers?: unknown[]; trainableWeights?: VariableLike[] };
    if (Array.isArray(l.layers) && l.layers.length > 0) continue;
    for (const w of l.trainableWeights ?? []) {
      const tensor = w.read();
      if (tensor.dtype !== 'float32') continue;
      const short = w.name.slice(w.name.lastIndexOf('/') + 1).replace(/_\d+$/, '');
      list.push({ name: `${path}/${short}`, shape: [...tensor.shape], layer: path, tensor });
    }
  }
  return list;
}

/** The float weights of a GraphModel, by their `Const` node's name, each with the first node that reads it. */
export function graphModelParameters(net: GraphModelInternals): TfjsParameter[] {
  return graphParameters(net);
}

/** The parameters a function model declares (`fromTfjs(fn, { parameters })`); a name's layer is what precedes its last '/'. */
export function functionParameters(given: Readonly<Record<string, tf.Tensor>> | undefined): TfjsParameter[] {
  if (given === undefined) return [];
  if (given === null || typeof given !== 'object' || Array.isArray(given)) throw new ArgumentError('parameters', 'an object mapping names to the tf.Tensors (or tf.Variables) the function reads', describeValue(given));
  return Object.entries(given).map(([name, tensor]) => {
    if (!isTfTensor(tensor) || tensor.dtype !== 'float32') throw new ArgumentError(`parameters['${name}']`, 'a float32 tf.Tensor or tf.Variable the function reads', describeValue(tensor));
    const slash = name.lastIndexOf('/');
    return { name, shape: [...tensor.shape], layer: slash > 0 ? name.slice(0, slash) : name, tensor };
  });
}
