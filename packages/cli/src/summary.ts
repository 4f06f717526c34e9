import type { HostTensor } from '@attribution/onnx';
import { toNumbers } from '@attribution/tensor';

const fmt = (v: number): string => (v === 0 ? '0' : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toFixed(4) : v.toExponential(3));

function unravel(flat: number, dims: readonly number[]): number[] {
  const out: number[] = [];
  for (let d = dims.length - 1; d >= 0; d--) {
    out.unshift(flat % (dims[d] as number));
    flat = Math.floor(flat / (dims[d] as number));
  }
  return out;
}

/** A readable summary of attributions: per input its shape, sum, range and the largest entries. */
export function summarize(names: readonly string[], attributions: readonly HostTensor[], delta: HostTensor | undefined, top = 5): string {
  const lines: string[] = [];
  attributions.forEach((a, i) => {
    const values = toNumbers(a.data);
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      sum += v;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    lines.push(`${names[i] ?? `input ${i}`} [${a.dims.join(', ')}]: sum ${fmt(sum)}, min ${fmt(min)}, max ${fmt(max)}`);
    const order = Array.from(values.keys()).sort((p, q) => Math.abs(values[q] as number) - Math.abs(values[p] as number)).slice(0, top);
    lines.push(`  largest |attribution|: ${order.map((k) => `[${unravel(k, a.dims).join(',')}] ${fmt(values[k] as number)}`).join(', ')}`);
  });
  if (delta) lines.push(`convergence delta: [${Array.from(toNumbers(delta.data), fmt).join(', ')}]`);
  return lines.join('\n');
}
