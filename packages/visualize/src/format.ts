/**
 * Formats a number with a fixed number of decimals exactly like Python's `'{:.Nf}'.format(x)`: the exact
 * binary value rounded half-to-even (so `0.125 → '0.12'`, where JavaScript's `toFixed` gives `'0.13'`),
 * `'-0.00'` for negative values that round to zero, and `'nan'`, `'inf'`, `'-inf'`.
 */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const abs = Math.abs(x);
  // Beyond 1e21 toFixed switches to exponent notation; such doubles are integers, printed exactly.
  if (abs >= 1e21) return `${sign}${BigInt(abs).toString()}${digits > 0 ? `.${'0'.repeat(digits)}` : ''}`;
  // toFixed(100) is the exact decimal expansion to 100 places, enough to see an exact tie at `digits`.
  const exact = abs.toFixed(100);
  const dot = exact.indexOf('.');
  const kept = exact.slice(0, dot) + exact.slice(dot + 1, dot + 1 + digits);
  const rest = exact.slice(dot + 1 + digits);
  const first = rest.charCodeAt(0) - 48;
  const tail = /[1-9]/.test(rest.slice(1));
  const lastOdd = (kept.charCodeAt(kept.length - 1) - 48) % 2 === 1;
  const up = first > 5 || (first === 5 && (tail || lastOdd));
  let digitsStr = kept;
  if (up) {
    const chars = [...kept];
    let i = chars.length - 1;
    while (i >= 0 && chars[i] === '9') chars[i--] = '0';
    if (i >= 0) chars[i] = String.fromCharCode((chars[i] as string).charCodeAt(0) + 1);
    else chars.unshift('1');
    digitsStr = chars.join('');
  }
  const intLen = digitsStr.length - digits;
  const body = digits > 0 ? `${digitsStr.slice(0, intLen)}.${digitsStr.slice(intLen)}` : digitsStr;
  return sign + body;
}

/** A coordinate for SVG output: at most 2 decimals, no trailing zeros, never `-0`. */
export function svgNumber(x: number): string {
  const r = Math.round(x * 100) / 100;
  return String(Object.is(r, -0) ? 0 : r);
}
