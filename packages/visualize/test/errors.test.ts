import { ArgumentError, ShapeError } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { type Grid, type ImageAttrOptions, visualizeImageAttr } from '../src/index.js';

const attr: Grid = { data: [1, 2, 3, 4, 5, 6], shape: [1, 2, 3] }; // (C, H, W) = (1, 2, 3)
const image: Grid = { data: new Array<number>(18).fill(0.5), shape: [2, 3, 3] }; // (H, W, C)

/** The error visualizeImageAttr throws for these options. */
function failure(options: ImageAttrOptions, a: Grid = attr): Error {
  try {
    visualizeImageAttr(a, options);
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe('visualizeImageAttr rejects bad input with ArgumentError', () => {
  it.each<[string, ImageAttrOptions, RegExp, Grid?]>([
    ['unknown method (lists the valid ones)', { layout: 'chw', method: 'heatmap' as never }, /method: expected one of 'heat_map', 'blended_heat_map', 'original_image', 'masked_image', 'alpha_scaling', got 'heatmap'. Did you mean 'heat_map'\?/],
    ['unknown sign', { layout: 'chw', sign: 'absolute' as never }, /sign: expected one of 'positive', 'absolute_value', 'negative', 'all', got 'absolute'/],
    ['unknown option (Captum spelling)', { layout: 'chw', outlier_perc: 3 } as never, /unknown option 'outlier_perc'. Did you mean 'outlierPerc'\?/],
    ['missing layout for a rank-3 attribution', {}, /layout: expected 'chw' or 'hwc' for the rank-3 attribution of shape \[1, 2, 3\], got undefined. The channel axis is never guessed./],
    ['unknown layout', { layout: 'nchw' as never }, /layout: expected one of 'chw', 'hwc', got 'nchw'/],
    ['rank 1', {}, /attribution\.shape: expected rank 2/, { data: [1, 2], shape: [2] }],
    ['empty image', {}, /a non-empty image/, { data: [], shape: [0, 2] }],
    ['a batch without batchIndex', { layout: 'chw' }, /batchIndex: expected the index of the example to draw \(the batch has 2\)/, { data: new Array<number>(12).fill(1), shape: [2, 1, 2, 3] }],
    ['batchIndex out of range', { layout: 'chw', batchIndex: 2 }, /batchIndex: expected an integer between 0 and 1, got 2/, { data: new Array<number>(12).fill(1), shape: [2, 1, 2, 3] }],
    ['NaN attribution', { layout: 'chw' }, /attribution: expected finite numbers only, got NaN at flat index 2/, { data: [1, 2, NaN, 4, 5, 6], shape: [1, 2, 3] }],
    ['data/shape mismatch', { layout: 'chw' }, /attribution: expected 6 values for shape \[1, 2, 3\], got 5 values/, { data: [1, 2, 3, 4, 5], shape: [1, 2, 3] }],
    ['missing original image', { layout: 'chw', method: 'masked_image' }, /originalImage: expected the original image for method 'masked_image', got undefined/],
    ['image size mismatch', { layout: 'chw', method: 'blended_heat_map', originalImage: { data: new Array<number>(9).fill(0), shape: [3, 3] } }, /originalImage: expected an image of the attribution's height × width 2 × 3, got 3 × 3/],
    ['image layout defaults to layout (here wrong)', { layout: 'chw', method: 'original_image', originalImage: image }, /originalImage: expected an image of the attribution's height × width 2 × 3, got 3 × 3 \(shape \[2, 3, 3\]\)/],
    ['RGBA image', { layout: 'chw', method: 'original_image', originalImage: { data: new Array<number>(24).fill(0), shape: [2, 3, 4] }, imageLayout: 'hwc' }, /1 \(grey\) or 3 \(RGB\) channels, got 4 channels. Drop the alpha channel first/],
    ['NaN image', { layout: 'chw', method: 'original_image', originalImage: { data: [NaN, 0, 0, 0, 0, 0], shape: [2, 3] } }, /originalImage: expected finite numbers only/],
    ['signed masked image', { layout: 'chw', method: 'masked_image', sign: 'all', originalImage: image, imageLayout: 'hwc' }, /sign: expected 'positive', 'negative' or 'absolute_value' for method 'masked_image', got 'all'/],
    ['alphaOverlay > 1', { layout: 'chw', alphaOverlay: 2 }, /alphaOverlay: expected a number between 0 and 1, got 2/],
    ['bad imageScale', { layout: 'chw', imageScale: 'uint8' as never }, /imageScale: expected one of 'auto', 'unit', 'byte'/],
    ['bad colour map name', { layout: 'chw', cmap: 'viridis' as never }, /cmap: expected one of 'RdWhGn', 'RdYlGn', 'Greens', 'Reds', 'Blues', 'gray', got 'viridis'/],
    ['zero threshold', { layout: 'chw', sign: 'negative' }, /a negative attribution to normalise by \(sign 'negative'\)/],
  ])('%s', (_, options, message, a) => {
    const error = failure(options, a);
    expect(error).toBeInstanceOf(ArgumentError);
    expect(error.message).toMatch(message);
  });

  it('shape problems are ShapeErrors', () => {
    expect(failure({}, { data: [1, 2], shape: [2] })).toBeInstanceOf(ShapeError);
    expect(failure({ layout: 'chw', method: 'blended_heat_map', originalImage: { data: new Array<number>(9).fill(0), shape: [3, 3] } })).toBeInstanceOf(ShapeError);
  });

  it('a missing attribution is an ArgumentError, not a TypeError', () => {
    expect(() => visualizeImageAttr(undefined as never)).toThrow(ArgumentError);
    expect(() => visualizeImageAttr({ data: 'abc', shape: [3] } as never)).toThrow(/attribution\.data: expected an array or a numeric typed array/);
  });
});
