import { ArgumentError } from '@attribution/tensor';
import { describe, expect, it } from 'vitest';
import { type Grid, type ImageMethod, type RgbaImage, type Sign, visualizeImageAttr, visualizeImageAttrMultiple } from '../src/index.js';

/*
 * Hand-worked example (2 × 2 pixels).
 * Attribution (C, H, W) with two channels: c0 = [[1, −2], [0, 3]], c1 = [[1, 0], [−1, 1]];
 * channel sums v = [2, −2, −1, 4] (row-major).
 * Normalisation with outlierPerc 2 (percentile 98):
 *   all:            |v| sorted [1, 2, 2, 4], running [1, 3, 5, 9], 9·0.01·98 = 8.82 → T = 4 → [0.5, −0.5, −0.25, 1]
 *   positive:       kept [2, 0, 0, 4], running [0, 0, 2, 6], 5.88 → T = 4             → [0.5, 0, 0, 1]
 *   negative:       kept [0, −2, −1, 0], |·| running [0, 0, 1, 3], 2.94 → T = −2      → [0, 1, 0.5, 0]
 *   absolute_value: [2, 2, 1, 4] → T = 4                                               → [0.5, 0.5, 0.25, 1]
 * Colour-map index trunc(256·t) with t = (n − vmin)/(vmax − vmin), 1 → 255:
 *   all (t = (n+1)/2 = [0.75, 0.25, 0.375, 1]) → [192, 64, 96, 255]; positive → [128, 0, 0, 255];
 *   negative → [0, 255, 128, 0]; absolute_value → [128, 128, 64, 255].
 * Table entries (matplotlib 3.6.3, see fixtures/matplotlib-luts.json):
 *   RdWhGn 192 (126,190,126), 64 (255,128,128), 96 (255,192,192), 255 (0,128,0)
 *   Greens 0 (247,252,245), 128 (115,195,117), 255 (0,68,27)
 *   Reds   0 (255,245,240), 128 (250,105,73), 255 (103,0,12)
 *   Blues  64 (197,218,238), 128 (106,173,213), 255 (8,48,107)
 *   gray   k → (k,k,k) for the k used here.
 * Image (H, W, 3) in [0, 1] (max ≤ 1 → trunc(x·255)):
 *   [1, .5, 0] → [255, 127, 0]; [.25, .75, .125] → [63, 191, 31]; [0, 0, 0]; [.5, .25, 1] → [127, 63, 255].
 * Grey for blended: channel means [382/3, 95, 0, 445/3], autoscaled to [0, 1] → [382/445, 285/445, 0, 1]
 *   → indices trunc(256·x) = [219, 163, 0, 255] → grey [219, 163, 0, 255].
 */
const attr: Grid = { data: [1, -2, 0, 3, 1, 0, -1, 1], shape: [2, 2, 2] };
const image: Grid = { data: [1, 0.5, 0, 0.25, 0.75, 0.125, 0, 0, 0, 0.5, 0.25, 1], shape: [2, 2, 3] };
const base = { layout: 'chw', originalImage: image, imageLayout: 'hwc' } as const;

/** The image's pixels as [r, g, b, a] quadruples. */
const pixels = (im: RgbaImage): number[][] => Array.from({ length: im.width * im.height }, (_, p) => [...im.data.subarray(4 * p, 4 * p + 4)]);
const opaque = (rgb: number[][]): number[][] => rgb.map((c) => [...c, 255]);

const expected: Record<string, number[][]> = {
  'heat_map/all': opaque([[126, 190, 126], [255, 128, 128], [255, 192, 192], [0, 128, 0]]),
  'heat_map/positive': opaque([[115, 195, 117], [247, 252, 245], [247, 252, 245], [0, 68, 27]]),
  'heat_map/negative': opaque([[255, 245, 240], [103, 0, 12], [250, 105, 73], [255, 245, 240]]),
  'heat_map/absolute_value': opaque([[106, 173, 213], [106, 173, 213], [197, 218, 238], [8, 48, 107]]),
  // round(0.5·heat + 0.5·grey), grey = [219, 163, 0, 255]
  'blended_heat_map/all': opaque([[173, 205, 173], [209, 146, 146], [128, 96, 96], [128, 192, 128]]),
  'blended_heat_map/positive': opaque([[167, 207, 168], [205, 208, 204], [124, 126, 123], [128, 162, 141]]),
  'blended_heat_map/negative': opaque([[237, 232, 230], [133, 82, 88], [125, 53, 37], [255, 250, 248]]),
  'blended_heat_map/absolute_value': opaque([[163, 196, 216], [135, 168, 188], [99, 109, 119], [132, 152, 181]]),
  // trunc(image · norm)
  'masked_image/positive': opaque([[127, 63, 0], [0, 0, 0], [0, 0, 0], [127, 63, 255]]),
  'masked_image/negative': opaque([[0, 0, 0], [63, 191, 31], [0, 0, 0], [0, 0, 0]]),
  'masked_image/absolute_value': opaque([[127, 63, 0], [31, 95, 15], [0, 0, 0], [127, 63, 255]]),
  // image RGB, alpha trunc(norm · 255): 0.5 → 127, 0.25 → 63
  'alpha_scaling/positive': [[255, 127, 0, 127], [63, 191, 31, 0], [0, 0, 0, 0], [127, 63, 255, 255]],
  'alpha_scaling/negative': [[255, 127, 0, 0], [63, 191, 31, 255], [0, 0, 0, 127], [127, 63, 255, 0]],
  'alpha_scaling/absolute_value': [[255, 127, 0, 127], [63, 191, 31, 127], [0, 0, 0, 63], [127, 63, 255, 255]],
};
const originalPixels = opaque([[255, 127, 0], [63, 191, 31], [0, 0, 0], [127, 63, 255]]);

describe('visualizeImageAttr: every method × sign on a hand-worked 2 × 2 example', () => {
  for (const method of ['heat_map', 'blended_heat_map', 'original_image', 'masked_image', 'alpha_scaling'] as ImageMethod[]) {
    for (const sign of ['all', 'positive', 'negative', 'absolute_value'] as Sign[]) {
      const key = `${method}/${sign}`;
      it(key, () => {
        const run = (): RgbaImage => visualizeImageAttr(attr, { ...base, method, sign });
        if ((method === 'masked_image' || method === 'alpha_scaling') && sign === 'all') {
          expect(run).toThrow(ArgumentError);
          expect(run).toThrow(/sign: expected 'positive', 'negative' or 'absolute_value' for method/);
          return;
        }
        const im = run();
        expect([im.width, im.height]).toEqual([2, 2]);
        expect(pixels(im)).toEqual(method === 'original_image' ? originalPixels : expected[key]);
      });
    }
  }
});

describe('visualizeImageAttr options', () => {
  it('defaults to heat_map with absolute_value, like Captum', () => {
    expect(pixels(visualizeImageAttr(attr, { layout: 'chw' }))).toEqual(expected['heat_map/absolute_value']);
  });

  it('reads hwc, batched nchw/nhwc and rank-2 attributions alike', () => {
    // The same sums [2, −2, −1, 4] given three other ways.
    const hwc: Grid = { data: [1, 1, -2, 0, 0, -1, 3, 1], shape: [2, 2, 2] };
    const batch: Grid = { data: [9, 9, 9, 9, 9, 9, 9, 9, ...attr.data as number[]], shape: [2, 2, 2, 2] };
    const single: Grid = { data: [2, -2, -1, 4], shape: [2, 2] };
    const want = expected['heat_map/all'];
    expect(pixels(visualizeImageAttr(hwc, { layout: 'hwc', sign: 'all' }))).toEqual(want);
    expect(pixels(visualizeImageAttr(batch, { layout: 'chw', sign: 'all', batchIndex: 1 }))).toEqual(want);
    expect(pixels(visualizeImageAttr({ data: attr.data, shape: [1, 2, 2, 2] }, { layout: 'chw', sign: 'all' }))).toEqual(want);
    expect(pixels(visualizeImageAttr(single, { sign: 'all' }))).toEqual(want);
  });

  it('alphaOverlay 1 shows the heat map only, 0 the grey image only', () => {
    expect(pixels(visualizeImageAttr(attr, { ...base, method: 'blended_heat_map', sign: 'all', alphaOverlay: 1 }))).toEqual(expected['heat_map/all']);
    expect(pixels(visualizeImageAttr(attr, { ...base, method: 'blended_heat_map', sign: 'all', alphaOverlay: 0 }))).toEqual(
      opaque([[219, 219, 219], [163, 163, 163], [0, 0, 0], [255, 255, 255]]),
    );
  });

  it('outlierPerc moves the threshold (50 % of |v| = [1, 2, 2, 4]: running sums reach 4.5 at 5 → T = 2)', () => {
    // norm = clip(v / 2) = [1, −1, −0.5, 1] → t = [1, 0, 0.25, 1] → indices [255, 0, 64, 255].
    expect(pixels(visualizeImageAttr(attr, { layout: 'chw', sign: 'all', outlierPerc: 50 }))).toEqual(
      opaque([[0, 128, 0], [255, 0, 0], [255, 128, 128], [0, 128, 0]]),
    );
  });

  it('accepts a custom colour map function and a named one', () => {
    const seen: number[] = [];
    const im = visualizeImageAttr(attr, {
      layout: 'chw',
      sign: 'all',
      cmap: (t) => {
        seen.push(t);
        return [Math.round(t * 100), 1, 2, 3];
      },
    });
    expect(seen).toEqual([0.75, 0.25, 0.375, 1]);
    expect(pixels(im)).toEqual([[75, 1, 2, 3], [25, 1, 2, 3], [38, 1, 2, 3], [100, 1, 2, 3]]);
    // Blues for sign all: indices [192, 64, 96, 255] of Blues.
    expect(pixels(visualizeImageAttr(attr, { layout: 'chw', sign: 'all', cmap: 'Blues' }))[3]).toEqual([8, 48, 107, 255]);
  });

  it('0–255 images: used as given (truncated and clipped for display); imageScale forces either reading', () => {
    const grey: Grid = { data: [0, 300, -5, 12.7], shape: [2, 2] };
    const a: Grid = { data: [1, 1, 1, 1], shape: [2, 2] };
    expect(pixels(visualizeImageAttr(a, { method: 'original_image', originalImage: grey }))).toEqual(opaque([[0, 0, 0], [255, 255, 255], [0, 0, 0], [12, 12, 12]]));
    const unit: Grid = { data: [0, 0.5, 1, 0.25], shape: [2, 2] };
    expect(pixels(visualizeImageAttr(a, { method: 'original_image', originalImage: unit, imageScale: 'byte' }))).toEqual(
      opaque([[0, 0, 0], [0, 0, 0], [1, 1, 1], [0, 0, 0]]),
    );
    expect(pixels(visualizeImageAttr(a, { method: 'original_image', originalImage: { data: [0, 2, 4, 1], shape: [2, 2] }, imageScale: 'unit' }))).toEqual(
      opaque([[0, 0, 0], [255, 255, 255], [255, 255, 255], [255, 255, 255]]),
    );
  });

  it('one-channel images are drawn grey; masked_image scales the grey', () => {
    const grey: Grid = { data: [200, 100, 50, 10], shape: [1, 2, 2] };
    const im = visualizeImageAttr({ data: [2, 2, 1, 4], shape: [2, 2] }, { method: 'masked_image', originalImage: grey, imageLayout: 'chw' });
    // norm [0.5, 0.5, 0.25, 1] → [100, 50, 12 (12.5), 10]
    expect(pixels(im)).toEqual(opaque([[100, 100, 100], [50, 50, 50], [12, 12, 12], [10, 10, 10]]));
  });

  it('visualizeImageAttrMultiple draws one image per (method, sign) pair', () => {
    const images = visualizeImageAttrMultiple(attr, ['heat_map', 'masked_image'], ['all', 'positive'], base);
    expect(images.map(pixels)).toEqual([expected['heat_map/all'], expected['masked_image/positive']]);
    expect(() => visualizeImageAttrMultiple(attr, ['heat_map'], [], base)).toThrow(ArgumentError);
  });
});
