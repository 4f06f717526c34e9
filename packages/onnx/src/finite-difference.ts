import type { GradientRequest, GradientResult, LayerValue } from '@attribution/tensor';
import { hostBackend as b, type OnnxTensor } from './host-backend.js';
import { HostTensor } from './host-tensor.js';
import type { OnnxModel } from './model.js';

/** Rows per forward pass when estimating gradients. */
const MAX_ROWS = 512;

/** What {@link finiteDifferenceGradient} costs for a request, in words: forward evaluations and model calls. */
export function finiteDifferenceCost(model: OnnxModel, request: GradientRequest<OnnxTensor>, wrt: readonly string[]): string {
  const rows = request.inputs[0]?.dims[0] ?? 1;
  const inputs = model.inputNames.slice(0, request.inputs.length);
  const elements = wrt.map((name) => {
    const i = inputs.indexOf(name);
    return i >= 0 ? (request.inputs[i] as OnnxTensor).dims.slice(1).reduce((a, c) => a * c, 1) : undefined;
  });
  if (!elements.every((n): n is number => n !== undefined)) {
    return 'finite-difference gradients cost two forward evaluations per element of each differentiated tensor, for each gradient call';
  }
  const per = elements.reduce((a, b) => a + b, 0);
  const perPass = Math.max(1, Math.floor(MAX_ROWS / (2 * rows)));
  const calls = elements.reduce((a, n) => a + Math.ceil(n / perPass), 0);
  return `finite-difference gradients cost 2 × ${per.toLocaleString('en-US')} forward evaluations per example for each gradient call (${calls.toLocaleString('en-US')} model call${calls === 1 ? '' : 's'} of up to ${MAX_ROWS} rows for a batch of ${rows})`;
}

/**
 * Central finite differences of `sum(output ⊙ w)` with respect to each `wrt` tensor, from forward passes
 * only: element j of every example is moved by ±step, all examples at once, many elements per pass. Assumes
 * examples do not interact (as batched models do).
 */
export async function finiteDifferenceGradient(
  model: OnnxModel,
  request: GradientRequest<OnnxTensor>,
  wrt: readonly string[],
  step: number,
): Promise<GradientResult<OnnxTensor>> {
  const rows = request.inputs[0]?.dims[0] ?? 1;
  const layers = wrt.filter((name) => !model.inputNames.slice(0, request.inputs.length).includes(name));
  const base = await model.forward({ ...request, capture: [...(request.capture ?? []), ...layers.map((layer) => ({ layer }))] });
  const captured = base.captured.slice(0, request.capture?.length ?? 0);
  const layerValues = base.captured.slice(request.capture?.length ?? 0);
  const weights = Float64Array.from((await b.data(request.outputWeights)) as Float32Array);
  const rowSize = weights.length / rows;
  const gradients: OnnxTensor[] = [];
  for (const name of wrt) {
    const inputIndex = model.inputNames.slice(0, request.inputs.length).indexOf(name);
    const value = inputIndex >= 0 ? (request.inputs[inputIndex] as OnnxTensor) : (layerValues[layers.indexOf(name)] as OnnxTensor);
    const per = value.dims.slice(1).reduce((a, c) => a * c, 1);
    const grad = new Float64Array(rows * per);
    const perPass = Math.max(1, Math.floor(MAX_ROWS / (2 * rows)));
    for (let j0 = 0; j0 < per; j0 += perPass) {
      const count = Math.min(perPass, per - j0);
      const copies = 2 * count;
      // Copy c = 2k moves element j0+k up, c = 2k+1 moves it down.
      const offsets = new Float64Array(copies * rows * per);
      for (let k = 0; k < count; k++) {
        for (let r = 0; r < rows; r++) {
          offsets[((2 * k) * rows + r) * per + j0 + k] = step;
          offsets[((2 * k + 1) * rows + r) * per + j0 + k] = -step;
        }
      }
      const tiled = (t: OnnxTensor): OnnxTensor => b.tile(t, t.dims.map((_, d) => (d === 0 ? copies : 1)));
      const moved = b.add(tiled(value), b.tensor(offsets, [copies * rows, ...value.dims.slice(1)], value.type === 'float64' ? 'float64' : 'float32'));
      const inputs = request.inputs.map((t, i) => (i === inputIndex ? moved : tiled(t)));
      const args = (request.args ?? []).map((a) => (b.isTensor(a) && a.dims.length > 0 ? tiled(a) : a));
      const replace: LayerValue<OnnxTensor>[] = (request.replace ?? []).map((r) => ({ ref: r.ref, value: tiled(r.value) }));
      if (inputIndex < 0) replace.push({ ref: { layer: name }, value: moved });
      const { output } = await model.forward({ inputs, args, replace });
      const out = (await b.data(output)) as Float32Array;
      for (let k = 0; k < count; k++) {
        for (let r = 0; r < rows; r++) {
          let up = 0;
          let down = 0;
          for (let q = 0; q < rowSize; q++) {
            const w = weights[r * rowSize + q] as number;
            if (w === 0) continue;
            up += w * (out[((2 * k) * rows + r) * rowSize + q] as number);
            down += w * (out[((2 * k + 1) * rows + r) * rowSize + q] as number);
          }
          grad[r * per + j0 + k] = (up - down) / (2 * step);
        }
      }
    }
    gradients.push(new HostTensor(value.type === 'float64' ? grad : Float32Array.from(grad), value.dims, value.type === 'float64' ? 'float64' : 'float32'));
  }
  return { output: base.output, captured, gradients };
}
