/**
 * @packageDocumentation
 * TensorFlow.js adapter: {@link fromTfjs} turns a function, a `tf.LayersModel` or a `tf.GraphModel` into a
 * model the attribution algorithms can explain, and {@link tfjsBackend} implements the tensor contract on
 * `@tensorflow/tfjs-core`.
 */
export { isTfTensor, tfjsBackend } from './backend.js';
export { layerKey, type Tap } from './hooks.js';
export { UnsupportedLrpLayerError } from './lrp.js';
export { listLayers, listParameters, lastLayerParameters } from '@attribution/tensor';
export {
  TfjsModel,
  fromTfjs,
  type GraphModelLike,
  type LayersModelLike,
  type TfjsFunction,
  type TfjsModelOptions,
  type TfjsModelSource,
} from './model.js';
