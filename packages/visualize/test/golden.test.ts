import { decode } from 'fast-png';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodePng, type Grid, type ImageAttrOptions, visualizeImageAttr } from '../src/index.js';

/*
 * Golden images rendered independently by golden/generate.py (NumPy port of Captum 0.8's normalisation +
 * matplotlib 3.6.3's colour maps, saved with Pillow). Our PNG must decode to exactly the same pixels.
 */
const dir = new URL('./golden/', import.meta.url);
const inputs = JSON.parse(readFileSync(new URL('inputs.json', dir), 'utf8')) as { attribution: Grid; image: Grid };

const cases: [string, ImageAttrOptions][] = [
  ['heat-map-all.png', { method: 'heat_map', sign: 'all' }],
  ['blended-absolute.png', { method: 'blended_heat_map', sign: 'absolute_value', originalImage: inputs.image, imageLayout: 'hwc' }],
  ['alpha-positive.png', { method: 'alpha_scaling', sign: 'positive', originalImage: inputs.image, imageLayout: 'hwc' }],
];

describe('golden images (3 × 12 × 16 attribution)', () => {
  for (const [file, options] of cases) {
    it(`${file} matches the NumPy/matplotlib rendering pixel for pixel`, () => {
      const golden = decode(readFileSync(new URL(file, dir)));
      expect([golden.width, golden.height, golden.channels, golden.depth]).toEqual([16, 12, 4, 8]);
      const png = encodePng(visualizeImageAttr(inputs.attribution, { layout: 'chw', ...options }));
      const ours = decode(png);
      expect([ours.width, ours.height, ours.channels, ours.depth]).toEqual([16, 12, 4, 8]);
      expect(Array.from(ours.data)).toEqual(Array.from(golden.data));
    });
  }
});
