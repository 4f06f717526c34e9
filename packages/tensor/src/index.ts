/**
 * @packageDocumentation
 * The backend-agnostic contract of the attribution packages: the {@link Backend} tensor operations and
 * the {@link Model} interface that algorithms use, the error family, a seedable random source and shape
 * helpers. A new backend implements `Backend` and `Model`; nothing else is needed.
 */
export type { DType, TensorData } from './dtype.js';
export { isFloatDType, toNumbers } from './dtype.js';
export type { Shape } from './shape.js';
export { broadcastShapes, formatShape, shapesEqual, sizeOf, stridesOf } from './shape.js';
export type { Backend, Operand } from './backend.js';
export type {
  BackwardRule,
  ForwardRequest,
  ForwardResult,
  GradientRequest,
  GradientResult,
  GradientSource,
  LayerRef,
  LayerValue,
  LrpLayerRule,
  LrpRequest,
  Model,
  ParameterInfo,
  ParamRef,
  TensorOf,
} from './model.js';
export { lastLayerParameters, listLayers, listParameters } from './model.js';
export {
  AbortError,
  ArgumentError,
  AttributionError,
  BackendError,
  ModelError,
  ShapeError,
  TargetError,
  describeValue,
} from './errors.js';
export { checkLabels } from './labels.js';
export { closestName, describeChoices, nearestNames } from './names.js';
export type { Random } from './random.js';
export { createRandom } from './random.js';
