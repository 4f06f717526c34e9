// Every public package's declarations, type-checked as a strict consumer's program would (tsconfig.json:
// skipLibCheck false, `types` limited to node, so nothing is included that a package does not bring itself).
export * as tensor from '@attribution/tensor';
export * as core from '@attribution/core';
export * as tfjs from '@attribution/tfjs';
export * as onnx from '@attribution/onnx';
export * as onnxGrad from '@attribution/onnx-grad';
export * as primary from '@attribution/primary';
export * as layer from '@attribution/layer';
export * as neuron from '@attribution/neuron';
export * as metrics from '@attribution/metrics';
export * as visualize from '@attribution/visualize';
export * as text from '@attribution/text';
export * as concept from '@attribution/concept';
export * as robust from '@attribution/robust';
export * as influence from '@attribution/influence';
export * as cli from '@attribution/cli';
