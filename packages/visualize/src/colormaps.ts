import { ArgumentError, describeValue } from '@attribution/tensor';
import { checkChoice, checkInteger } from './errors.js';

/** A colour as four bytes 0–255: red, green, blue, alpha. */
export type Rgba = readonly [number, number, number, number];

/**
 * A colour map: takes a value in [0, 1] (already scaled by the plot's value range) and returns a colour.
 * Values outside [0, 1] should be clamped by the map. Pass your own function anywhere a colour map is
 * accepted.
 */
export type Colormap = (value: number) => Rgba;

/** A colour map backed by a lookup table, like matplotlib's `Colormap` with `N` entries. */
export interface LookupColormap extends Colormap {
  /** The map's name, e.g. `'Blues'`. */
  readonly colormapName: string;
  /** Number of entries `N` (256 for the built-in maps, as matplotlib's `image.lut`). */
  readonly size: number;
  /** `N · 4` bytes: the table, as matplotlib's `(cmap._lut[:N] * 255).astype(uint8)`. */
  readonly lut: Uint8Array;
}

/**
 * Names of the built-in colour maps: `'RdWhGn'` (Captum's default for sign `'all'`, red → white → green),
 * matplotlib's `'Greens'`, `'Reds'`, `'Blues'` (Captum's defaults for `'positive'`, `'negative'`,
 * `'absolute_value'`), `'RdYlGn'` and `'gray'` (used under blended heat maps).
 */
export type ColormapName = 'RdWhGn' | 'RdYlGn' | 'Greens' | 'Reds' | 'Blues' | 'gray';

/** Every {@link ColormapName}. */
export const COLORMAP_NAMES: readonly ColormapName[] = ['RdWhGn', 'RdYlGn', 'Greens', 'Reds', 'Blues', 'gray'];

/** A colour given as `#rrggbb` / `#rgb`, or as three floats in [0, 1] (matplotlib's convention). */
export type ColorSpec = string | readonly [number, number, number];

// Control colours of matplotlib's `_Greens_data`, `_Reds_data`, `_Blues_data` (ColorBrewer 9-class sequential)
// and `_RdYlGn_data` (ColorBrewer 11-class diverging), as the bytes those float tuples encode (k / 255).
const GREENS = ['#f7fcf5', '#e5f5e0', '#c7e9c0', '#a1d99b', '#74c476', '#41ab5d', '#238b45', '#006d2c', '#00441b'];
// Two blue components of `_Reds_data` are written in matplotlib one ulp below k / 255 (21/255, 13/255); they
// are kept as those floats because the last one truncates to 12, not 13, in matplotlib's byte table.
const REDS: readonly ColorSpec[] = [
  '#fff5f0', '#fee0d2', '#fcbba1', '#fc9272', '#fb6a4a', '#ef3b2c', '#cb181d',
  [165 / 255, 15 / 255, 0.08235294117647057],
  [103 / 255, 0, 0.05098039215686274],
];
const BLUES = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];
const RDYLGN = [
  '#a50026', '#d73027', '#f46d43', '#fdae61', '#fee08b', '#ffffbf', '#d9ef8b', '#a6d96a', '#66bd63', '#1a9850', '#006837',
];
// matplotlib's named colours 'red', 'white', 'green' (CSS green is #008000).
const RDWHGN = ['#ff0000', '#ffffff', '#008000'];
// `_gray_data`: black → white.
const GRAY = ['#000000', '#ffffff'];

const TABLES: Record<ColormapName, readonly ColorSpec[]> = {
  RdWhGn: RDWHGN,
  RdYlGn: RDYLGN,
  Greens: GREENS,
  Reds: REDS,
  Blues: BLUES,
  gray: GRAY,
};

function parseColor(argument: string, spec: ColorSpec): [number, number, number] {
  if (typeof spec === 'string') {
    const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(spec);
    if (!m) throw new ArgumentError(argument, "a colour '#rrggbb' or '#rgb'", describeValue(spec));
    const hex = (m[1] as string).length === 3 ? [...(m[1] as string)].map((c) => c + c).join('') : (m[1] as string);
    return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255) as [number, number, number];
  }
  if (!Array.isArray(spec) || spec.length !== 3 || !spec.every((v) => typeof v === 'number' && v >= 0 && v <= 1)) {
    throw new ArgumentError(argument, 'three numbers in [0, 1]', describeValue(spec));
  }
  return [spec[0], spec[1], spec[2]];
}

/**
 * matplotlib's `_create_lookup_table` for one channel whose control points `y` sit at `x` (in [0, 1],
 * ascending), reproduced operation for operation so the float results (and their truncation to bytes) agree.
 */
function lookupTable(n: number, x: readonly number[], y: readonly number[]): Float64Array {
  const out = new Float64Array(n);
  const last = y.length - 1;
  if (n === 1) {
    out[0] = y[last] as number;
    return out;
  }
  const xs = x.map((v) => v * (n - 1));
  const step = 1 / (n - 1);
  out[0] = y[0] as number;
  out[n - 1] = y[last] as number;
  for (let k = 1; k < n - 1; k++) {
    const xind = (n - 1) * (k * step);
    let ind = 0;
    while (ind < xs.length && (xs[ind] as number) < xind) ind++; // np.searchsorted(side='left')
    const x0 = xs[ind - 1] as number;
    const x1 = xs[ind] as number;
    const y0 = y[ind - 1] as number;
    const y1 = y[ind] as number;
    const distance = (xind - x0) / (x1 - x0);
    out[k] = distance * (y1 - y0) + y0;
  }
  for (let k = 0; k < n; k++) out[k] = Math.min(1, Math.max(0, out[k] as number));
  return out;
}

/** NumPy's `linspace(0, 1, n)`: `k · (1 / (n − 1))`, with the last point exactly 1. */
function linspace01(n: number): number[] {
  if (n === 1) return [0];
  const step = 1 / (n - 1);
  return Array.from({ length: n }, (_, k) => (k === n - 1 ? 1 : k * step));
}

/** Builds a {@link LookupColormap} from a table of `size · 4` bytes. */
function fromLut(name: string, size: number, lut: Uint8Array): LookupColormap {
  const colors: Rgba[] = [];
  for (let i = 0; i < size; i++) colors.push([lut[4 * i] as number, lut[4 * i + 1] as number, lut[4 * i + 2] as number, lut[4 * i + 3] as number]);
  const map = (value: number): Rgba => colors[lutIndex(value, size)] as Rgba;
  return Object.assign(map, { colormapName: name, size, lut });
}

/**
 * The table index matplotlib's `Colormap.__call__` picks for a float in [0, 1]: `trunc(value · N)`, with
 * exactly 1 mapped to `N − 1` and values outside [0, 1] to the end entries (matplotlib's default under/over
 * colours). NaN maps to entry 0 (matplotlib would draw it transparent; this package rejects NaN earlier).
 */
export function lutIndex(value: number, size: number): number {
  const scaled = value * size;
  if (!(scaled >= 0)) return 0;
  if (scaled >= size) return size - 1;
  return Math.trunc(scaled);
}

/**
 * matplotlib's `LinearSegmentedColormap.from_list(name, colors, N)`: control colours evenly spaced on
 * [0, 1], linearly interpolated into an `N`-entry table (bytes by truncation, as matplotlib's `bytes=True`).
 * @param colors - at least two colours.
 * @param size - table size `N`, default 256.
 */
export function linearSegmentedColormap(name: string, colors: readonly ColorSpec[], size = 256): LookupColormap {
  checkInteger('size', size, 1, 65536);
  if (!Array.isArray(colors) || colors.length < 2) {
    throw new ArgumentError('colors', 'at least two colours', describeValue(colors));
  }
  const rgb = colors.map((c, i) => parseColor(`colors[${i}]`, c));
  const x = linspace01(rgb.length);
  const lut = new Uint8Array(size * 4);
  for (let ch = 0; ch < 3; ch++) {
    const table = lookupTable(
      size,
      x,
      rgb.map((c) => c[ch] as number),
    );
    for (let k = 0; k < size; k++) lut[4 * k + ch] = Math.trunc((table[k] as number) * 255);
  }
  for (let k = 0; k < size; k++) lut[4 * k + 3] = 255;
  return fromLut(name, size, lut);
}

const cache = new Map<ColormapName, LookupColormap>();

/**
 * A built-in colour map by name (256 entries, byte-identical to matplotlib's tables), or the given
 * function unchanged.
 * @throws ArgumentError for an unknown name (the message lists the valid ones).
 */
export function getColormap(cmap: ColormapName | Colormap): Colormap {
  if (typeof cmap === 'function') return cmap;
  const name = checkChoice('cmap', cmap, COLORMAP_NAMES);
  let map = cache.get(name);
  if (!map) {
    map = linearSegmentedColormap(name, TABLES[name]);
    cache.set(name, map);
  }
  return map;
}
