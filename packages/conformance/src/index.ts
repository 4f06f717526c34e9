/**
 * @packageDocumentation
 * The conformance suite: Captum 0.8 reference cases, the JSON-graph models built in TensorFlow.js, the
 * ONNX files run by ONNX Runtime, and a harness that runs every case whose method the library implements.
 */
export * from './fixtures.js';
export * from './harness.js';
export * from './onnx-backend.js';
export * from './tfjs-backend.js';
export { buildTfjsModel } from './tfjs-graph.js';
