import * as ort from 'onnxruntime-node';
import { createRandom, type Random } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { nodeContext } from '../src/context.js';
import { Emitter } from '../src/emitter.js';
import { InvalidModelError } from '../src/errors.js';
import { getGradient } from '../src/gradients/index.js';
import { interpolationMatrix, resizeScales, type Interpolation } from '../src/gradients/resize-geometry.js';
import { Graph } from '../src/graph.js';
import { transformModel, UnsupportedOperatorError } from '../src/index.js';
import { DataType, encodeModel, makeTensor, makeValueInfo, type AttrValue, type NodeProto, type TensorProto } from '../src/proto.js';
import { inferShapes } from '../src/shapes.js';
import { buildModel, describeCases, floats, ints, node, type TestInput, type TestModel, type Case } from './op-model.js';

// Backward rules of the spatial and layout operators torchvision and U-Net exports use (Pad, Tile, Resize,
// Upsample, ConvTranspose, GlobalMaxPool, MaxPool, AveragePool, Conv 1-D/3-D, DepthToSpace, SpaceToDepth),
// checked against central finite differences of ONNX Runtime's forward pass on random shapes and attributes,
// and their shape inference against the shapes ONNX Runtime produces.

const pick = <T>(rng: Random, list: readonly T[]): T => list[rng.int(list.length)] as T;
const x = (shape: number[], extra: Partial<TestInput> = {}): TestInput => ({ name: 'x', shape, ...extra });
const count = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
/** float32 tensors (Resize's scales and roi are float whatever the data type). */
const f32 = (name: string, values: number[], dims = [values.length]): TensorProto => makeTensor(name, DataType.FLOAT, dims, values);
/** Distinct values at least 0.1 apart in random order: max pooling without ties under finite differences. */
function spaced(rng: Random, n: number): number[] {
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.13);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [v[i], v[j]] = [v[j] as number, v[i] as number];
  }
  return v;
}
const weights = (rng: Random, dims: number[]): TensorProto => floats('w', dims, Array.from({ length: count(dims) }, () => rng.normal()));


/** A Resize node with its scales/sizes/roi inputs in the form of its opset (opset 11–12 need every input). */
function resize(opset: number, attrs: Record<string, AttrValue>, geometry: { scales?: number[]; sizes?: number[]; roi?: number[] }, extraNodes: TestModel['nodes'] = []): Pick<TestModel, 'nodes' | 'initializers'> {
  const initializers: TensorProto[] = [];
  const inputs = ['x'];
  if (geometry.roi) initializers.push(f32('roi', geometry.roi));
  else if (opset < 13) initializers.push(f32('roi', []));
  inputs.push(geometry.roi || opset < 13 ? 'roi' : '');
  if (geometry.scales) {
    initializers.push(f32('scales', geometry.scales));
    inputs.push('scales');
  } else {
    if (opset < 13) initializers.push(f32('scales', []));
    inputs.push(opset < 13 ? 'scales' : '');
    initializers.push(ints('sizes', geometry.sizes as number[]));
    inputs.push('sizes');
  }
  return { nodes: [node('Resize', inputs, ['y'], attrs), ...extraNodes], initializers };
}

const COORDINATES = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn'];
const NEAREST = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];
const SCALES = [0.5, 0.6, 0.75, 1.5, 2, 2.5, 3, 1.7];

const padCases: Case[] = [
  [
    'Pad constant: pads input, negative pads crop, constant_value input (opset 11, 13)',
    (rng) => {
      const shape = [2 + rng.int(2), 2 + rng.int(3), 3 + rng.int(2)];
      const pads = Array.from({ length: 6 }, () => rng.int(4) - 1);
      return {
        nodes: [node('Pad', ['x', 'p', 'v'], ['y'])],
        inputs: [x(shape)],
        initializers: [ints('p', pads), floats('v', [], [0.7])],
        output: 'y',
        opset: pick(rng, [11, 13]),
      };
    },
  ],
  [
    'Pad edge (pads larger than the axis, negative pads)',
    (rng) => {
      const shape = [2 + rng.int(2), 2 + rng.int(3)];
      return { nodes: [node('Pad', ['x', 'p'], ['y'], { mode: 'edge' })], inputs: [x(shape)], initializers: [ints('p', [rng.int(5), rng.int(3) - 1, rng.int(3) - 1, rng.int(5)])], output: 'y' };
    },
  ],
  [
    'Pad reflect (1-D to 3-D, negative pads crop first)',
    (rng) => {
      const rank = 1 + rng.int(3);
      const shape = Array.from({ length: rank }, () => 3 + rng.int(3));
      const pads = [...shape, ...shape].map((d) => rng.int(d - 1) - (rng.next() < 0.2 ? 1 : 0));
      return { nodes: [node('Pad', ['x', 'p'], ['y'], { mode: 'reflect' })], inputs: [x(shape)], initializers: [ints('p', pads.map((p, i) => (i % rank === 0 && p < 0 ? 0 : p)))], output: 'y' };
    },
  ],
  [
    'Pad wrap (opset 19)',
    (rng) => {
      const shape = [2 + rng.int(2), 2 + rng.int(3)];
      const pads = [...shape, ...shape].map((d) => rng.int(d + 1));
      return { nodes: [node('Pad', ['x', 'p'], ['y'], { mode: 'wrap' })], inputs: [x(shape)], initializers: [ints('p', pads)], output: 'y', opset: 19 };
    },
  ],
  [
    'Pad with axes (opset 18, negative axes), every mode',
    (rng) => {
      const shape = [2, 3 + rng.int(2), 4];
      const mode = pick(rng, ['constant', 'edge', 'reflect']);
      return { nodes: [node('Pad', ['x', 'p', '', 'ax'], ['y'], { mode })], inputs: [x(shape)], initializers: [ints('p', [1, 2, 2, 0]), ints('ax', [-1, 1])], output: 'y', opset: 18 };
    },
  ],
  [
    'Pad edge / reflect / wrap with symbolic dims (sizes read at run time)',
    (rng) => {
      const shape = [2, 3 + rng.int(3), 4];
      const mode = pick(rng, ['edge', 'reflect', 'wrap']);
      return {
        nodes: [node('Pad', ['x', 'p'], ['y'], { mode })],
        inputs: [x(shape, { declared: ['n', 'h', 'w'] })],
        initializers: [ints('p', [0, 2, -1, 0, 1, 2])],
        output: 'y',
        opset: 19,
      };
    },
  ],
];

const tileCases: Case[] = [
  [
    'Tile',
    (rng) => {
      const rank = 1 + rng.int(3);
      const shape = Array.from({ length: rank }, () => 1 + rng.int(3));
      return { nodes: [node('Tile', ['x', 'r'], ['y'])], inputs: [x(shape)], initializers: [ints('r', shape.map(() => 1 + rng.int(3)))], output: 'y' };
    },
  ],
  [
    'Tile with symbolic input dims',
    (rng) => ({ nodes: [node('Tile', ['x', 'r'], ['y'])], inputs: [x([2, 1 + rng.int(3), 3], { declared: ['b', 's', 3] })], initializers: [ints('r', [1, 2, 3])], output: 'y' }),
  ],
];

const resizeCases: Case[] = [
  [
    'Resize nearest: every nearest_mode and coordinate mode, scales (opset 11, 13)',
    (rng) => {
      const opset = pick(rng, [11, 13]);
      const shape = [1 + rng.int(2), 1 + rng.int(2), 2 + rng.int(4), 2 + rng.int(4)];
      const attrs = { mode: 'nearest', nearest_mode: pick(rng, NEAREST), coordinate_transformation_mode: pick(rng, COORDINATES) };
      return { ...resize(opset, attrs, { scales: [1, 1, pick(rng, SCALES), pick(rng, SCALES)] }), inputs: [x(shape)], output: 'y', opset };
    },
  ],
  [
    'Resize nearest ×2 (U-Net upsampling), rank 3 to 5',
    (rng) => {
      const rank = 3 + rng.int(3);
      const shape = Array.from({ length: rank }, (_, i) => (i < 2 ? 1 + rng.int(2) : 1 + rng.int(3)));
      const attrs = { mode: 'nearest', nearest_mode: 'floor', coordinate_transformation_mode: 'asymmetric' };
      return { ...resize(13, attrs, { scales: shape.map((_, i) => (i < 2 ? 1 : 2)) }), inputs: [x(shape)], output: 'y' };
    },
  ],
  [
    'Resize nearest on a rank-1 tensor and on the channel axis',
    (rng) => {
      const rank1 = rng.next() < 0.5;
      const shape = rank1 ? [3 + rng.int(4)] : [1, 2 + rng.int(2), 3];
      const attrs = { mode: 'nearest', nearest_mode: pick(rng, NEAREST), coordinate_transformation_mode: pick(rng, COORDINATES) };
      return { ...resize(13, attrs, { scales: rank1 ? [pick(rng, SCALES)] : [1, pick(rng, SCALES), 1] }), inputs: [x(shape)], output: 'y' };
    },
  ],
  [
    'Resize linear (bilinear; scales or sizes; opset 11, 13)',
    (rng) => {
      const opset = pick(rng, [11, 13]);
      const shape = [1 + rng.int(2), 1 + rng.int(2), 2 + rng.int(4), 2 + rng.int(4)];
      const attrs = { mode: 'linear', coordinate_transformation_mode: pick(rng, COORDINATES.slice(0, 4)) };
      const geometry = rng.next() < 0.5 ? { scales: [1, 1, pick(rng, SCALES), pick(rng, SCALES)] } : { sizes: [shape[0] as number, shape[1] as number, 1 + rng.int(7), 1 + rng.int(7)] };
      return { ...resize(opset, attrs, geometry), inputs: [x(shape)], output: 'y', opset };
    },
  ],
  [
    'Resize linear on a 2-D tensor and trilinear on 3-D / 5-D tensors',
    (rng) => {
      const rank = pick(rng, [2, 3, 5]);
      const shape = Array.from({ length: rank }, (_, i) => (rank === 5 && i < 2 ? 1 : 2 + rng.int(2)));
      const scales = shape.map((_, i) => (rank === 5 && i < 2 ? 1 : pick(rng, SCALES)));
      return { ...resize(13, { mode: 'linear', coordinate_transformation_mode: pick(rng, COORDINATES.slice(0, 4)) }, { scales }), inputs: [x(shape)], output: 'y' };
    },
  ],
  [
    'Resize cubic (cubic_coeff_a, exclude_outside)',
    (rng) => {
      const shape = [1, 1 + rng.int(2), 2 + rng.int(4), 2 + rng.int(4)];
      const attrs = { mode: 'cubic', cubic_coeff_a: { f: pick(rng, [-0.75, -0.5]) }, exclude_outside: rng.int(2), coordinate_transformation_mode: pick(rng, COORDINATES.slice(0, 4)) };
      return { ...resize(13, attrs, { scales: [1, 1, pick(rng, SCALES), pick(rng, SCALES)] }), inputs: [x(shape)], output: 'y' };
    },
  ],
  [
    'Resize tf_crop_and_resize (roi, extrapolated outputs pass no gradient)',
    (rng) => {
      const shape = [1, 1, 3 + rng.int(3), 3 + rng.int(3)];
      const mode = pick(rng, ['nearest', 'linear', 'cubic']);
      const roi = [0, 0, -0.2 + 0.5 * rng.next(), 0.3 * rng.next(), 1, 1, 0.6 + 0.6 * rng.next(), 0.7 + 0.5 * rng.next()];
      const attrs = { mode, coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: { f: 0.5 } };
      return { ...resize(pick(rng, [11, 13]), attrs, { sizes: [1, 1, 2 + rng.int(5), 2 + rng.int(5)], roi }), inputs: [x(shape)], output: 'y', opset: 13 };
    },
  ],
  [
    'Resize opset 18: axes, keep_aspect_ratio_policy, roi over the axes',
    (rng) => {
      const shape = [1 + rng.int(2), 2, 2 + rng.int(4), 2 + rng.int(4)];
      const mode = pick(rng, ['nearest', 'linear']);
      const policy = pick(rng, ['stretch', 'not_larger', 'not_smaller']);
      const attrs = { mode, axes: policy === 'stretch' ? [-2, 3] : [2, 3], keep_aspect_ratio_policy: policy, coordinate_transformation_mode: pick(rng, ['half_pixel', 'tf_crop_and_resize', 'align_corners']) };
      const geometry = rng.next() < 0.5 || policy !== 'stretch' ? { sizes: [1 + rng.int(7), 1 + rng.int(7)] } : { scales: [pick(rng, SCALES), pick(rng, SCALES)] };
      return { ...resize(18, attrs, { ...geometry, roi: [0.1, 0.2, 0.9, 1.1] }), inputs: [x(shape)], output: 'y', opset: 18 };
    },
  ],
  [
    'Resize antialias (opset 18): linear and cubic downsampling',
    (rng) => {
      const shape = [1, 1 + rng.int(2), 4 + rng.int(4), 4 + rng.int(4)];
      const mode = pick(rng, ['linear', 'cubic']);
      const attrs = { mode, antialias: 1, exclude_outside: rng.int(2), coordinate_transformation_mode: pick(rng, ['half_pixel', 'pytorch_half_pixel', 'asymmetric', 'align_corners']) };
      return { ...resize(18, attrs, { scales: [1, 1, pick(rng, [0.5, 0.6, 0.75, 1.5]), pick(rng, [0.4, 0.5, 0.75])] }), inputs: [x(shape)], output: 'y', opset: 18 };
    },
  ],
  [
    'Resize half_pixel_symmetric (opset 19)',
    (rng) => {
      const shape = [1, 1, 2 + rng.int(4), 2 + rng.int(4)];
      const mode = pick(rng, ['nearest', 'linear', 'cubic']);
      return { ...resize(19, { mode, coordinate_transformation_mode: 'half_pixel_symmetric' }, { scales: [1, 1, pick(rng, SCALES), pick(rng, SCALES)] }), inputs: [x(shape)], output: 'y', opset: 19 };
    },
  ],
  [
    'Resize with symbolic dims on the axes it keeps (batch, channels, width)',
    (rng) => {
      const shape = [1 + rng.int(2), 2, 3, 2 + rng.int(2)];
      const mode = pick(rng, ['nearest', 'linear']);
      const keepWidth = rng.next() < 0.5;
      const scales = [1, 1, mode === 'nearest' ? 2 : pick(rng, SCALES), keepWidth ? 1 : 2];
      return { ...resize(13, { mode }, { scales }), inputs: [x(shape, { declared: ['n', 'c', 3, keepWidth ? 'w' : (shape[3] as number)] })], output: 'y' };
    },
  ],
  [
    'Resize nearest of the channel axis with symbolic trailing dims',
    (rng) => {
      const shape = [1, 2 + rng.int(2), 2, 1 + rng.int(3)];
      const attrs = { mode: 'nearest', nearest_mode: pick(rng, NEAREST), coordinate_transformation_mode: pick(rng, COORDINATES) };
      return { ...resize(13, attrs, { scales: [1, pick(rng, SCALES), 1, 1] }), inputs: [x(shape, { declared: [1, shape[1] as number, 'h', 'w'] })], output: 'y' };
    },
  ],
];

const convTransposeCases: Case[] = [
  [
    'ConvTranspose 2-D (groups, strides, pads, dilations, output_padding, bias)',
    (rng) => {
      const group = pick(rng, [1, 2]);
      const cin = group * (1 + rng.int(2));
      const cout = group * (1 + rng.int(2));
      const kernel = [1 + rng.int(3), 1 + rng.int(3)];
      const strides = [1 + rng.int(3), 1 + rng.int(2)];
      const dilations = [1 + rng.int(2), 1 + rng.int(2)];
      const adj = strides.map((s) => rng.int(s));
      const pads = [rng.int(2), rng.int(2), rng.int(2), rng.int(2)].map((p, i) => Math.min(p, (kernel[i % 2] as number) - 1));
      return {
        nodes: [node('ConvTranspose', ['x', 'w', 'b'], ['y'], { group, kernel_shape: kernel, strides, dilations, output_padding: adj, pads })],
        inputs: [x([1 + rng.int(2), cin, 2 + rng.int(2), 2 + rng.int(3)])],
        initializers: [weights(rng, [cin, cout / group, ...kernel]), floats('b', [cout], Array.from({ length: cout }, () => rng.normal()))],
        output: 'y',
      };
    },
  ],
  [
    'ConvTranspose 1-D and 3-D (weights an initializer or a run-time input)',
    (rng) => {
      const n = pick(rng, [1, 3]);
      const kernel = Array.from({ length: n }, () => 1 + rng.int(3));
      const strides = Array.from({ length: n }, () => 1 + rng.int(2));
      const w = weights(rng, [2, 1 + rng.int(2), ...kernel]);
      const runtime = rng.next() < 0.5;
      return {
        nodes: [node('ConvTranspose', ['x', 'w'], ['y'], { strides, pads: [...kernel.map(() => 0), ...kernel.map((k) => rng.int(k))], dilations: kernel.map(() => 1 + rng.int(2)) })],
        inputs: [x([1, 2, ...Array.from({ length: n }, () => 2 + rng.int(n === 1 ? 4 : 2))]), ...(runtime ? [{ name: 'w', shape: w.dims.map(Number), constant: true }] : [])],
        initializers: runtime ? [] : [w],
        output: 'y',
      };
    },
  ],
  [
    'ConvTranspose auto_pad SAME_UPPER / SAME_LOWER',
    (rng) => {
      const kernel = [2 + rng.int(2), 1 + rng.int(3)];
      return {
        nodes: [node('ConvTranspose', ['x', 'w'], ['y'], { auto_pad: pick(rng, ['SAME_UPPER', 'SAME_LOWER']), strides: [2 + rng.int(2), 2], output_padding: [rng.int(2), 0] })],
        inputs: [x([1, 2, 2 + rng.int(3), 3])],
        initializers: [weights(rng, [2, 2, ...kernel])],
        output: 'y',
      };
    },
  ],
  [
    'ConvTranspose output_shape (pads derived from it)',
    (rng) => {
      const [h, w] = [2 + rng.int(3), 2 + rng.int(3)];
      const kernel = [3, 2 + rng.int(2)];
      const strides = [2, 1 + rng.int(2)];
      const natural = [(h - 1) * 2 + 3, (w - 1) * (strides[1] as number) + (kernel[1] as number)];
      const out = natural.map((d) => d - rng.int(3));
      return {
        nodes: [node('ConvTranspose', ['x', 'w'], ['y'], { strides, output_shape: out, auto_pad: pick(rng, ['NOTSET', 'SAME_UPPER', 'SAME_LOWER']) })],
        inputs: [x([1, 2, h, w])],
        initializers: [weights(rng, [2, 3, ...kernel])],
        output: 'y',
      };
    },
  ],
  [
    'ConvTranspose with symbolic spatial dims (output_padding beyond the end pad)',
    (rng) => ({
      nodes: [node('ConvTranspose', ['x', 'w'], ['y'], { strides: [2, 3], pads: [1, 0, 0, rng.int(2)], output_padding: [1, 1 + rng.int(2)], dilations: [1, 2] })],
      inputs: [x([1, 2, 2 + rng.int(3), 3], { declared: ['n', 2, 'h', 'w'] })],
      initializers: [weights(rng, [2, 2, 3, 2])],
      output: 'y',
    }),
  ],
];

const poolCases: Case[] = [
  [
    'GlobalMaxPool (2-D and 3-D)',
    (rng) => {
      const shape = [1 + rng.int(2), 1 + rng.int(3), 2 + rng.int(3), 1 + rng.int(3), ...(rng.next() < 0.5 ? [2] : [])];
      return { nodes: [node('GlobalMaxPool', ['x'], ['y'])], inputs: [x(shape, { values: spaced(rng, count(shape)) })], output: 'y' };
    },
  ],
  [
    'MaxPool 1-D / 2-D / 3-D (pads, dilations, ceil_mode, overlapping windows, opset 16)',
    (rng) => {
      const n = 1 + rng.int(3);
      const kernel = Array.from({ length: n }, () => 1 + rng.int(3));
      const shape = [1, 1 + rng.int(2), ...kernel.map((k) => k + 2 + rng.int(n === 3 ? 2 : 4))];
      const attrs = {
        kernel_shape: kernel,
        strides: kernel.map(() => 1 + rng.int(3)),
        dilations: kernel.map(() => 1 + rng.int(2)),
        pads: [...kernel, ...kernel].map((k) => rng.int(k)),
        ceil_mode: rng.int(2),
      };
      return { nodes: [node('MaxPool', ['x'], ['y'], attrs)], inputs: [x(shape, { values: spaced(rng, count(shape)) })], output: 'y', opset: 16 };
    },
  ],
  [
    'MaxPool overlapping windows before opset 16 (disjoint classes scattered separately)',
    (rng) => {
      const shape = [2, 1 + rng.int(2), 4 + rng.int(3), 4 + rng.int(3)];
      const attrs = { kernel_shape: [3, 2 + rng.int(2)], strides: [1 + rng.int(2), 1], pads: [1, 0, 1, 1], ceil_mode: rng.int(2) };
      return { nodes: [node('MaxPool', ['x'], ['y'], attrs)], inputs: [x(shape, { values: spaced(rng, count(shape)) })], output: 'y', opset: pick(rng, [11, 12, 13, 15]) };
    },
  ],
  [
    'MaxPool auto_pad SAME_UPPER / SAME_LOWER (with dilations) and storage_order 1',
    (rng) => {
      const shape = [1, 2, 4 + rng.int(3), 3 + rng.int(3)];
      const attrs = { kernel_shape: [3, 2], strides: [1 + rng.int(2), 1 + rng.int(2)], dilations: [1 + rng.int(2), 1], auto_pad: pick(rng, ['SAME_UPPER', 'SAME_LOWER']), storage_order: rng.int(2) };
      return { nodes: [node('MaxPool', ['x'], ['y'], attrs)], inputs: [x(shape, { values: spaced(rng, count(shape)) })], output: 'y', opset: 16 };
    },
  ],
  [
    'AveragePool ceil_mode with windows past the padding, count_include_pad 0 and 1 (1-D to 3-D)',
    (rng) => {
      const n = 1 + rng.int(3);
      const kernel = Array.from({ length: n }, () => 2 + rng.int(2));
      const shape = [1, 1 + rng.int(2), ...kernel.map((k) => k + 1 + rng.int(n === 3 ? 2 : 4))];
      const attrs = { kernel_shape: kernel, strides: kernel.map(() => 2 + rng.int(2)), pads: [...kernel, ...kernel].map((k) => rng.int(k)), ceil_mode: 1, count_include_pad: rng.int(2) };
      return { nodes: [node('AveragePool', ['x'], ['y'], attrs)], inputs: [x(shape)], output: 'y' };
    },
  ],
  [
    'AveragePool with dilations (opset 19)',
    (rng) => {
      const shape = [1, 2, 5 + rng.int(3), 5 + rng.int(3)];
      const attrs = { kernel_shape: [2, 2 + rng.int(2)], dilations: [2, 1 + rng.int(2)], strides: [1 + rng.int(2), 1 + rng.int(2)], pads: [1, 0, rng.int(2), 1], ceil_mode: rng.int(2), count_include_pad: rng.int(2) };
      return { nodes: [node('AveragePool', ['x'], ['y'], attrs)], inputs: [x(shape)], output: 'y', opset: 19 };
    },
  ],
  [
    'AveragePool auto_pad SAME_UPPER / SAME_LOWER',
    (rng) => ({
      nodes: [node('AveragePool', ['x'], ['y'], { kernel_shape: [3, 2], strides: [2, 1 + rng.int(2)], auto_pad: pick(rng, ['SAME_UPPER', 'SAME_LOWER']), count_include_pad: rng.int(2) })],
      inputs: [x([1, 2, 4 + rng.int(3), 3 + rng.int(3)])],
      output: 'y',
    }),
  ],
  [
    'AveragePool with symbolic spatial dims (divisors counted at run time)',
    (rng) => ({
      nodes: [node('AveragePool', ['x'], ['y'], { kernel_shape: [3, 2], strides: [2, 1], pads: [1, 1, 1, 0], count_include_pad: rng.int(2) })],
      inputs: [x([1, 2, 4 + rng.int(3), 3], { declared: ['n', 'c', 'h', 'w'] })],
      output: 'y',
    }),
  ],
];

const convCases: Case[] = [
  [
    'Conv 1-D (groups, strides, pads, dilations)',
    (rng) => {
      const group = pick(rng, [1, 2]);
      const [cin, cout] = [group * (1 + rng.int(2)), group * (1 + rng.int(2))];
      const k = 1 + rng.int(3);
      const d = 1 + rng.int(2);
      return {
        nodes: [node('Conv', ['x', 'w'], ['y'], { group, kernel_shape: [k], strides: [1 + rng.int(3)], dilations: [d], pads: [rng.int(2), rng.int(3)] })],
        inputs: [x([1 + rng.int(2), cin, k * d + 1 + rng.int(4)])],
        initializers: [weights(rng, [cout, cin / group, k])],
        output: 'y',
      };
    },
  ],
  [
    'Conv 3-D (groups, strides, pads, dilations)',
    (rng) => {
      const group = pick(rng, [1, 2]);
      const kernel = [1 + rng.int(2), 2, 1 + rng.int(2)];
      return {
        nodes: [node('Conv', ['x', 'w'], ['y'], { group, kernel_shape: kernel, strides: [1 + rng.int(2), 1, 2], dilations: [1, 1 + rng.int(2), 1], pads: [1, 0, rng.int(2), 0, 1, 1] })],
        inputs: [x([1, 2, 3, 3 + rng.int(2), 3])],
        initializers: [weights(rng, [2, 2 / group, ...kernel])],
        output: 'y',
      };
    },
  ],
  [
    'Conv 1-D / 3-D auto_pad SAME_LOWER, SAME_UPPER, VALID',
    (rng) => {
      const n = pick(rng, [1, 3]);
      const kernel = Array.from({ length: n }, () => 1 + rng.int(3));
      return {
        // ONNX Runtime supports no dilations with SAME_*.
        nodes: [node('Conv', ['x', 'w'], ['y'], { auto_pad: pick(rng, ['SAME_LOWER', 'SAME_UPPER', 'VALID']), strides: kernel.map(() => 1 + rng.int(2)) })],
        inputs: [x([1, 2, ...kernel.map((k) => 2 * k + 1 + rng.int(2))])],
        initializers: [weights(rng, [2, 2, ...kernel])],
        output: 'y',
      };
    },
  ],
];

convCases.push([
  'Conv with symbolic spatial dims, strides and an end pad the last window does not reach',
  (rng) => ({
    nodes: [node('Conv', ['x', 'w'], ['y'], { strides: [2, 3], pads: [1, 0, 1, 2], dilations: [1, 1 + rng.int(2)] })],
    inputs: [x([1, 2, 5 + rng.int(3), 6 + rng.int(3)], { declared: ['n', 2, 'h', 'w'] })],
    initializers: [weights(rng, [3, 2, 3, 2])],
    output: 'y',
  }),
]);

convCases.push([
  'Conv weights and bias differentiated (parameters as inputs): 1-D to 3-D, groups, depthwise, strides, pads, dilations, auto_pad, symbolic dims',
  (rng) => {
    const n = 1 + rng.int(3);
    const group = pick(rng, [1, 2, 4]);
    const depthwise = group === 4;
    const cin = depthwise ? 4 : group * (1 + rng.int(2));
    const cout = depthwise ? 4 * (1 + rng.int(2)) : group * (1 + rng.int(2));
    const kernel = Array.from({ length: n }, () => 1 + rng.int(n === 3 ? 2 : 3));
    const strides = kernel.map(() => 1 + rng.int(2));
    const same = rng.next() < 0.25;
    const dilations = same ? kernel.map(() => 1) : kernel.map(() => 1 + rng.int(2));
    const geometry = same ? { auto_pad: pick(rng, ['SAME_LOWER', 'SAME_UPPER']), strides } : { strides, dilations, pads: [...kernel.map(() => rng.int(2)), ...kernel.map((k) => rng.int(k))] };
    const sizes = kernel.map((k, i) => k * (dilations[i] as number) + 1 + rng.int(n === 3 ? 2 : 4));
    const symbolic = !same && rng.next() < 0.3;
    const w = weights(rng, [cout, cin / group, ...kernel]);
    return {
      nodes: [node('Conv', ['x', 'w', 'b'], ['y'], { group, kernel_shape: kernel, ...geometry })],
      inputs: [
        x([1 + rng.int(2), cin, ...sizes], symbolic ? { declared: ['n', cin, ...sizes.map((_, i) => `s${i}`)] } : {}),
        { name: 'w', shape: w.dims.map(Number) },
        { name: 'b', shape: [cout] },
      ],
      output: 'y',
    };
  },
]);

const layoutCases: Case[] = [
  ['DepthToSpace DCR', (rng) => ({ nodes: [node('DepthToSpace', ['x'], ['y'], { blocksize: 2 })], inputs: [x([1 + rng.int(2), 8, 2, 1 + rng.int(3)])], output: 'y' })],
  [
    'DepthToSpace CRD (static and symbolic dims)',
    (rng) => {
      const b = 2 + rng.int(2);
      const shape = [1 + rng.int(2), b * b * (1 + rng.int(2)), 1 + rng.int(2), 2];
      return { nodes: [node('DepthToSpace', ['x'], ['y'], { blocksize: b, mode: 'CRD' })], inputs: [x(shape, rng.next() < 0.5 ? { declared: ['n', 'c', 'h', 'w'] } : {})], output: 'y' };
    },
  ],
  ['SpaceToDepth', (rng) => ({ nodes: [node('SpaceToDepth', ['x'], ['y'], { blocksize: 2 })], inputs: [x([1 + rng.int(2), 1 + rng.int(2), 4, 2 * (1 + rng.int(2))])], output: 'y' })],
];

const groups: [string, Case[]][] = [
  ['Pad', padCases],
  ['Tile', tileCases],
  ['Resize', resizeCases],
  ['ConvTranspose', convTransposeCases],
  ['pooling', poolCases],
  ['Conv 1-D / 3-D', convCases],
  ['DepthToSpace / SpaceToDepth', layoutCases],
];

for (const [group, cases] of groups) describeCases(`${group}: backward rules against central finite differences`, cases);

// Upsample (opset 7–9) and Pad-2 (opset < 11) live only in models the builder does not differentiate (it
// needs opset 11): their rules are checked directly, by appending the backward nodes to the forward model.
async function checkRuleDirectly(m: TestModel, seed: number): Promise<number> {
  const rng = createRandom(seed);
  const model = buildModel(m, DataType.FLOAT);
  const forward = await ort.InferenceSession.create(encodeModel(model));
  const input = m.inputs[0] as TestInput;
  const xv = input.values ? [...input.values] : Array.from({ length: count(input.shape) }, () => rng.normal());
  const run = async (v: number[]): Promise<ort.Tensor> => (await forward.run({ [input.name]: new ort.Tensor('float32', Float32Array.from(v), input.shape) }))[m.output] as ort.Tensor;
  const y = await run(xv);
  const w = Array.from({ length: y.size }, () => rng.normal());
  const graph = new Graph(encodeModel(model));
  inferShapes(graph);
  const e = new Emitter(graph);
  const fwd = graph.graph.node[graph.graph.node.length - 1] as NodeProto;
  const rule = getGradient(fwd.opType);
  if (!rule) throw new Error(`no rule for ${fwd.opType}`);
  const [dx] = rule.backward(nodeContext(graph, e, fwd, ['__dy'], [0]));
  graph.graph.node.push(...e.nodes);
  graph.graph.initializer.push(...e.initializers);
  graph.graph.input.push(makeValueInfo('__dy', DataType.FLOAT, [...y.dims]));
  graph.graph.output = [makeValueInfo(dx as string, DataType.FLOAT)];
  const backward = await ort.InferenceSession.create(encodeModel(graph.model));
  const analytic = (await backward.run({ [input.name]: new ort.Tensor('float32', Float32Array.from(xv), input.shape), __dy: new ort.Tensor('float32', Float32Array.from(w), y.dims) }))[dx as string] as ort.Tensor;
  const objective = async (v: number[]): Promise<number> => ((await run(v)).data as Float32Array).reduce((s, yi, i) => s + yi * (w[i] as number), 0);
  let worst = 0;
  for (let j = 0; j < xv.length; j++) {
    const up = [...xv];
    const down = [...xv];
    up[j] = (up[j] as number) + 1e-2;
    down[j] = (down[j] as number) - 1e-2;
    const numeric = ((await objective(up)) - (await objective(down))) / 2e-2;
    worst = Math.max(worst, Math.abs(((analytic.data as Float32Array)[j] as number) - numeric) / (2e-3 + 2e-2 * Math.abs(numeric)));
  }
  return worst;
}

const legacyCases: Case[] = [
  [
    'Upsample-7 (scales attribute; nearest or linear)',
    (rng) => {
      const mode = pick(rng, ['nearest', 'linear']);
      return { nodes: [node('Upsample', ['x'], ['y'], { mode, scales: { floats: [1, 1, pick(rng, [1.5, 2, 3]), pick(rng, [1, 2, 2.5])] } })], inputs: [x([1, 2, 2 + rng.int(3), 2 + rng.int(2)])], output: 'y', opset: 7 };
    },
  ],
  [
    'Upsample-9 (scales input; nearest or linear)',
    (rng) => {
      const mode = pick(rng, ['nearest', 'linear']);
      return { nodes: [node('Upsample', ['x', 's'], ['y'], { mode })], inputs: [x([1, 1, 2 + rng.int(3), 3])], initializers: [f32('s', [1, 1, pick(rng, [1.7, 2, 3]), pick(rng, [1, 2, 2.5])])], output: 'y', opset: 9 };
    },
  ],
  [
    'Resize-10 (scales input, asymmetric coordinates, nearest or linear)',
    (rng) => {
      const mode = pick(rng, ['nearest', 'linear']);
      return { nodes: [node('Resize', ['x', 's'], ['y'], { mode })], inputs: [x([1, 1, 3 + rng.int(3), 3])], initializers: [f32('s', [1, 1, pick(rng, [0.5, 0.75, 1.7, 2]), pick(rng, [0.6, 2, 2.5])])], output: 'y', opset: 10 };
    },
  ],
  [
    'Pad-2 (pads and value attributes, opset 10): constant, edge, reflect',
    (rng) => {
      const mode = pick(rng, ['constant', 'edge', 'reflect']);
      const pads = [0, rng.int(3), rng.int(2) - (mode === 'constant' ? 1 : 0), 0, rng.int(3), 1];
      return { nodes: [node('Pad', ['x'], ['y'], { mode, pads, value: { f: 0.5 } })], inputs: [x([1, 3 + rng.int(2), 4])], output: 'y', opset: 10 };
    },
  ],
];

describe('rules for opsets before 11, appended to the forward model directly', () => {
  for (const [name, build] of legacyCases) {
    for (const seed of [1, 2, 3]) {
      it(`${name} #${seed}`, async () => {
        expect(await checkRuleDirectly(build(createRandom(1000 * seed + name.length)), seed)).toBeLessThanOrEqual(1);
      });
    }
  }
});

/** The output dims ONNX Runtime produces and the ones shape inference gives for a one-node model. */
async function shapes(m: TestModel): Promise<{ runtime: number[]; inferred: unknown[] | undefined }> {
  const model = buildModel(m, DataType.FLOAT);
  const session = await ort.InferenceSession.create(encodeModel(model), { logSeverityLevel: 3 });
  const input = m.inputs[0] as TestInput;
  const out = (await session.run({ [input.name]: new ort.Tensor('float32', new Float32Array(count(input.shape)), input.shape) }))[m.output] as ort.Tensor;
  await session.release();
  const graph = new Graph(encodeModel(model));
  inferShapes(graph);
  return { runtime: [...out.dims], inferred: graph.info(m.output).shape };
}

const shapeCases: Case[] = [
  [
    'Resize (scales or sizes, axes, keep_aspect_ratio_policy, opsets 11 to 19)',
    (rng) => {
      const opset = pick(rng, [11, 13, 18, 19]);
      const shape = [1 + rng.int(3), 1 + rng.int(3), 1 + rng.int(9), 1 + rng.int(9)];
      const axes = opset >= 18 && rng.next() < 0.5 ? [2, 3] : undefined;
      const policy = opset >= 18 ? pick(rng, ['stretch', 'not_larger', 'not_smaller']) : 'stretch';
      const full = (v: number[]): number[] => (axes ? v : [1, 1, ...v]);
      const geometry = rng.next() < 0.5 ? { scales: full([pick(rng, [...SCALES, 0.3, 1.1, 0.7]), pick(rng, [...SCALES, 0.35, 1.3])]) } : { sizes: axes ? [1 + rng.int(9), 1 + rng.int(9)] : [shape[0] as number, shape[1] as number, 1 + rng.int(9), 1 + rng.int(9)] };
      const attrs: Record<string, AttrValue> = { mode: pick(rng, ['nearest', 'linear']) };
      if (axes) attrs.axes = axes;
      if (opset >= 18 && geometry.sizes) attrs.keep_aspect_ratio_policy = policy;
      return { ...resize(opset, attrs, geometry), inputs: [x(shape)], output: 'y', opset };
    },
  ],
  [
    'Upsample (opset 7 and 9)',
    (rng) => {
      const scales = [1, 1, pick(rng, [1.5, 2, 1.3]), pick(rng, [1, 2.5, 1.7])];
      const opset = pick(rng, [7, 9]);
      return opset === 7
        ? { nodes: [node('Upsample', ['x'], ['y'], { scales: { floats: scales } })], inputs: [x([1, 2, 1 + rng.int(7), 1 + rng.int(7)])], output: 'y', opset }
        : { nodes: [node('Upsample', ['x', 's'], ['y'])], inputs: [x([1, 2, 1 + rng.int(7), 1 + rng.int(7)])], initializers: [f32('s', scales)], output: 'y', opset };
    },
  ],
  [
    'ConvTranspose (pads, output_padding, dilations, groups, auto_pad, output_shape; 1-D to 3-D)',
    (rng) => {
      const n = 1 + rng.int(3);
      const kernel = Array.from({ length: n }, () => 1 + rng.int(3));
      const strides = kernel.map(() => 1 + rng.int(3));
      const xs = kernel.map(() => 1 + rng.int(4));
      const attrs: Record<string, AttrValue> = { strides, dilations: kernel.map(() => 1 + rng.int(2)), output_padding: strides.map((s) => rng.int(s)), group: pick(rng, [1, 2]) };
      const variant = rng.int(3);
      if (variant === 0) attrs.pads = [...kernel, ...kernel].map((k) => rng.int(k));
      if (variant === 1) attrs.auto_pad = pick(rng, ['SAME_UPPER', 'SAME_LOWER', 'VALID']);
      if (variant === 2) attrs.output_shape = xs.map((d, i) => (d - 1) * (strides[i] as number) + (kernel[i] as number) - rng.int(kernel[i] as number));
      return { nodes: [node('ConvTranspose', ['x', 'w'], ['y'], attrs)], inputs: [x([1, 2, ...xs])], initializers: [weights(rng, [2, 1 + rng.int(2), ...kernel])], output: 'y' };
    },
  ],
  [
    'Pad (attribute and input forms, negative pads, axes)',
    (rng) => {
      const opset = pick(rng, [10, 13, 18]);
      const shape = [2, 2 + rng.int(4), 3];
      const pads = Array.from({ length: opset === 18 ? 4 : 6 }, () => rng.int(4) - 1);
      if (opset === 10) return { nodes: [node('Pad', ['x'], ['y'], { pads })], inputs: [x(shape)], output: 'y', opset };
      if (opset === 13) return { nodes: [node('Pad', ['x', 'p'], ['y'])], inputs: [x(shape)], initializers: [ints('p', pads)], output: 'y', opset };
      return { nodes: [node('Pad', ['x', 'p', '', 'a'], ['y'], { mode: 'edge' })], inputs: [x(shape)], initializers: [ints('p', pads), ints('a', [2, -2])], output: 'y', opset };
    },
  ],
  ['Tile', (rng) => ({ nodes: [node('Tile', ['x', 'r'], ['y'])], inputs: [x([1 + rng.int(3), 2])], initializers: [ints('r', [1 + rng.int(3), rng.int(3)])], output: 'y' })],
  ['DepthToSpace', (rng) => ({ nodes: [node('DepthToSpace', ['x'], ['y'], { blocksize: 2, mode: pick(rng, ['DCR', 'CRD']) })], inputs: [x([1, 4 * (1 + rng.int(2)), 1 + rng.int(3), 2])], output: 'y' })],
  ['SpaceToDepth', (rng) => ({ nodes: [node('SpaceToDepth', ['x'], ['y'], { blocksize: 3 })], inputs: [x([1, 1 + rng.int(2), 3 * (1 + rng.int(2)), 6])], output: 'y' })],
  [
    'MaxPool / AveragePool (ceil_mode keeping only windows that start inside, SAME with dilations)',
    (rng) => {
      const op = pick(rng, ['MaxPool', 'AveragePool']);
      const kernel = [1 + rng.int(3), 2];
      const attrs: Record<string, AttrValue> = { kernel_shape: kernel, strides: [1 + rng.int(3), 3], ceil_mode: rng.int(2) };
      if (rng.next() < 0.5) attrs.pads = [rng.int(kernel[0] as number), 1, rng.int(kernel[0] as number), 1];
      else {
        // ONNX Runtime rejects the negative SAME padding of strides larger than the kernel.
        attrs.auto_pad = pick(rng, ['SAME_UPPER', 'SAME_LOWER']);
        attrs.strides = [1 + rng.int(kernel[0] as number), 1 + rng.int(2)];
      }
      if (op === 'MaxPool') attrs.dilations = [1 + rng.int(2), 1];
      return { nodes: [node(op, ['x'], ['y'], attrs)], inputs: [x([1, 1, 3 + rng.int(5), 4 + rng.int(4)])], output: 'y', opset: 13 };
    },
  ],
];

describe('shape inference against the shapes ONNX Runtime produces', () => {
  for (const [name, build] of shapeCases) {
    it(name, async () => {
      for (let seed = 0; seed < 12; seed++) {
        const m = build(createRandom(seed * 31 + name.length));
        const { runtime, inferred } = await shapes(m);
        expect(inferred, JSON.stringify(m.nodes[0]?.attribute.map((a) => a.name))).toEqual(runtime);
      }
    });
  }
});

describe('refusals and malformed attributes', () => {
  const build = (m: TestModel): Uint8Array => encodeModel(buildModel(m, DataType.FLOAT));
  const wrt = { wrt: ['x'] };
  it('Resize with scales computed at run time', () => {
    const m: TestModel = { nodes: [node('Resize', ['x', '', 's'], ['y'])], inputs: [x([1, 1, 2, 2]), { name: 's', shape: [4], constant: true }], output: 'y' };
    expect(() => transformModel(build(m), wrt)).toThrow(UnsupportedOperatorError);
    expect(() => transformModel(build(m), wrt)).toThrow(/scales computed at run time/);
  });
  it('Resize of an axis whose size is symbolic', () => {
    const m: TestModel = { ...resize(13, { mode: 'linear' }, { scales: [1, 1, 2, 2] }), inputs: [x([1, 1, 2, 2], { declared: [1, 1, 'h', 'w'] })], output: 'y' };
    expect(() => transformModel(build(m), wrt)).toThrow(/resizing axis 2 needs its input and output sizes/);
  });
  it('Resize with antialias and tf_crop_and_resize', () => {
    const m: TestModel = { ...resize(18, { mode: 'linear', antialias: 1, coordinate_transformation_mode: 'tf_crop_and_resize' }, { scales: [1, 1, 0.5, 0.5], roi: [0, 0, 0, 0, 1, 1, 1, 1] }), inputs: [x([1, 1, 4, 4])], output: 'y', opset: 18 };
    expect(() => transformModel(build(m), wrt)).toThrow(/antialias with coordinate_transformation_mode tf_crop_and_resize/);
  });
  it('Resize with an unknown mode', () => {
    const m: TestModel = { ...resize(13, { mode: 'bicubic' }, { scales: [1, 1, 2, 2] }), inputs: [x([1, 1, 2, 2])], output: 'y' };
    expect(() => transformModel(build(m), wrt)).toThrow(InvalidModelError);
  });
  it('Tile with repeats computed at run time', () => {
    const m: TestModel = { nodes: [node('Shape', ['x'], ['r']), node('Tile', ['x', 'r'], ['y'])], inputs: [x([2, 3], { declared: ['a', 'b'] })], output: 'y' };
    expect(() => transformModel(build(m), wrt)).toThrow(/repeats computed at run time/);
  });
  it('Pad: an unknown mode, wrap around more than once', () => {
    const bad: TestModel = { nodes: [node('Pad', ['x', 'p'], ['y'], { mode: 'mirror' })], inputs: [x([2, 3])], initializers: [ints('p', [0, 1, 0, 1])], output: 'y' };
    expect(() => transformModel(build(bad), wrt)).toThrow(InvalidModelError);
    const wrap: TestModel = { nodes: [node('Pad', ['x', 'p'], ['y'], { mode: 'wrap' })], inputs: [x([2, 3])], initializers: [ints('p', [0, 4, 0, 0])], output: 'y', opset: 19 };
    expect(() => transformModel(build(wrap), wrt)).toThrow(/wraps at most once/);
  });
  it('ConvTranspose with a zero stride', () => {
    const m: TestModel = { nodes: [node('ConvTranspose', ['x', 'w'], ['y'], { strides: [0, 1] })], inputs: [x([1, 1, 2, 2])], initializers: [weights(createRandom(1), [1, 1, 2, 2])], output: 'y' };
    expect(() => transformModel(build(m), wrt)).toThrow(/invalid strides/);
  });
  it('AveragePool with ceil_mode and symbolic spatial sizes', () => {
    const m: TestModel = { nodes: [node('AveragePool', ['x'], ['y'], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 })], inputs: [x([1, 1, 3, 3], { declared: [1, 1, 'h', 'w'] })], output: 'y' };
    expect(() => transformModel(build(m), wrt)).toThrow(/ceil_mode with spatial sizes unknown/);
  });
});

describe('GlobalMaxPool ties', () => {
  it('route the gradient to the first maximum, as ONNX Runtime and PyTorch max pooling indices do', async () => {
    const m: TestModel = { nodes: [node('GlobalMaxPool', ['x'], ['y'])], inputs: [x([1, 2, 2, 2])], output: 'y' };
    const built = transformModel(encodeModel(buildModel(m, DataType.FLOAT)), { wrt: ['x'] });
    const session = await ort.InferenceSession.create(built.bytes);
    const xs = new ort.Tensor('float32', Float32Array.from([0.1, 0.7, 0.7, 0.2, 0.5, 0.3, 0.4, 0.5]), [1, 2, 2, 2]);
    const out = await session.run({ x: xs, [built.weights as string]: new ort.Tensor('float32', Float32Array.from([2, 3]), [1, 2, 1, 1]) });
    expect(Array.from((out[built.gradients[0] as string] as ort.Tensor).data as Float32Array)).toEqual([0, 2, 0, 0, 3, 0, 0, 0]);
  });
});

/** `x` multiplied along `axis` by the `out × n` matrix `w`. */
function alongAxis(xv: Float64Array, shape: number[], axis: number, w: Float64Array, out: number): [Float64Array, number[]] {
  const pre = count(shape.slice(0, axis));
  const post = count(shape.slice(axis + 1));
  const n = shape[axis] as number;
  const y = new Float64Array(pre * out * post);
  for (let a = 0; a < pre; a++) {
    for (let j = 0; j < out; j++) {
      for (let b = 0; b < post; b++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += (w[j * n + i] as number) * (xv[(a * n + i) * post + b] as number);
        y[(a * out + j) * post + b] = s;
      }
    }
  }
  return [y, shape.map((d, i) => (i === axis ? out : d))];
}

describe('Resize interpolation matrices', () => {
  it('reproduce ONNX Runtime forward outputs (300 random nodes: every mode, coordinate transform, nearest mode, antialias)', async () => {
    const rng = createRandom(7);
    let checked = 0;
    for (let trial = 0; trial < 300; trial++) {
      const opset = pick(rng, [11, 13, 18, 19]);
      const mode = pick(rng, ['nearest', 'linear', 'cubic'] as const);
      const rank = mode === 'linear' ? pick(rng, [2, 3, 4, 5]) : mode === 'cubic' ? pick(rng, [2, 4]) : pick(rng, [1, 2, 3, 4]);
      const shape = Array.from({ length: rank }, () => 1 + rng.int(6));
      const outer = rank >= 4 ? 2 : 0;
      const antialias = opset >= 18 && mode !== 'nearest' && rng.next() < 0.3;
      const coordinates = [...COORDINATES.slice(0, 4), ...(antialias ? [] : ['tf_crop_and_resize']), ...(opset < 13 || mode === 'nearest' ? ['tf_half_pixel_for_nn'] : []), ...(opset >= 19 ? ['half_pixel_symmetric'] : [])];
      const p: Interpolation = {
        mode,
        coordinate: pick(rng, coordinates),
        nearest: pick(rng, NEAREST),
        cubicA: pick(rng, [-0.75, -0.5]),
        excludeOutside: (mode === 'cubic' || antialias) && rng.next() < 0.5,
        antialias,
      };
      const useSizes = rng.next() < 0.4;
      const policy = opset >= 18 && useSizes ? pick(rng, ['stretch', 'not_larger', 'not_smaller']) : 'stretch';
      const axes = shape.map((_, i) => i);
      const scales = shape.map((_, i) => (i < outer ? 1 : pick(rng, [...SCALES, 1, 0.4])));
      const sizes = shape.map((d, i) => (i < outer ? d : 1 + rng.int(9)));
      const roi = [...axes.map((a) => (a < outer ? 0 : 0.5 * rng.next())), ...axes.map((a) => (a < outer ? 1 : 0.5 + 0.5 * rng.next()))];
      const attrs: Record<string, AttrValue> = { mode, coordinate_transformation_mode: p.coordinate, nearest_mode: p.nearest, cubic_coeff_a: { f: p.cubicA }, exclude_outside: p.excludeOutside ? 1 : 0 };
      if (antialias) attrs.antialias = 1;
      if (policy !== 'stretch') attrs.keep_aspect_ratio_policy = policy;
      if (mode !== 'cubic' && !antialias) delete attrs.exclude_outside;
      const built = resize(opset, attrs, useSizes ? { sizes, roi } : { scales, roi });
      const model = buildModel({ ...built, inputs: [x(shape)], output: 'y', opset }, DataType.FLOAT);
      const xv = Float32Array.from({ length: count(shape) }, () => rng.normal());
      let y: ort.Tensor;
      try {
        const session = await ort.InferenceSession.create(encodeModel(model), { logSeverityLevel: 4 });
        y = (await session.run({ x: new ort.Tensor('float32', xv, shape) })).y as ort.Tensor;
        await session.release();
      } catch {
        continue; // a combination ONNX Runtime does not run (e.g. linear on the batch axis)
      }
      const geometry = resizeScales(shape, useSizes ? undefined : scales, useSizes ? sizes : undefined, axes, policy);
      let cur: Float64Array = Float64Array.from(xv);
      let dims = [...shape];
      if (!geometry.out.every((d, i) => d === shape[i])) {
        for (let i = 0; i < rank; i++) {
          const m = interpolationMatrix(p, i, shape[i] as number, geometry.out[i] as number, geometry.scales[i] as number, [roi[i] as number, roi[i + rank] as number], rank);
          if (m) [cur, dims] = alongAxis(cur, dims, i, m.weights, m.outSize);
        }
      }
      const label = JSON.stringify({ opset, p, shape, useSizes, scales, sizes, policy });
      expect(dims, label).toEqual([...y.dims]);
      const data = y.data as Float32Array;
      // The first element outside the tolerance, if any, is asserted (one expect per element took seconds).
      const outside = cur.findIndex((v, k) => !(Math.abs(v - (data[k] as number)) < 1e-4 * (1 + Math.abs(v))));
      if (outside >= 0) expect(Math.abs((cur[outside] as number) - (data[outside] as number)), `${label} at ${outside}`).toBeLessThan(1e-4 * (1 + Math.abs(cur[outside] as number)));
      checked++;
    }
    expect(checked).toBeGreaterThan(200);
  }, 120_000);
});
