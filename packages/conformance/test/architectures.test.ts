import fs from 'node:fs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromOnnx, tensor, type OnnxModel, type OnnxTensor, type OrtModule } from '@attribution/onnx';
import { inspectModel } from '@attribution/onnx-grad';
import { IntegratedGradients, Saliency } from '@attribution/primary';
import { fixturePath } from '../src/fixtures.js';

/**
 * Real architectures (small widths and inputs, every block type kept) exported from PyTorch with
 * torch.onnx.export at opsets 13 and 17 (dynamic batch axis, constant folding on), against Captum 0.8
 * references computed in float64. The fixtures and their generator are in fixtures/architectures/
 * (make_fixtures.py; Python is not needed to run this suite).
 */

interface Stored {
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

interface ArchitectureFixture {
  readonly notes: string;
  readonly opTypes: Readonly<Record<string, readonly string[]>>;
  readonly input: Stored;
  /** One target per example: a class index, or an index tuple into the output row. */
  readonly target: readonly number[] | readonly (readonly number[])[];
  readonly output: Stored;
  readonly saliency: Stored;
  readonly ig: Stored & { readonly delta: readonly number[] };
  readonly nSteps: number;
  readonly method: 'gausslegendre';
}

const ARCHITECTURES = [
  'resnet18',
  'mobilenet_v3_small',
  'efficientnet_b0',
  'densenet121',
  'shufflenet_v2',
  'convnext_tiny',
  'vit',
  'swin_t',
  'transformer_encoder',
  'gpt2_block',
  'lstm',
  'gru',
  'audio_cnn',
  'unet',
] as const;
const OPSETS = [13, 17] as const;

/** Attributions: max |ours − torch| ≤ 1e-3 · max |torch|; outputs: 1e-4 of the largest output. */
const ATTRIBUTION_RTOL = 1e-3;
const OUTPUT_RTOL = 1e-4;

ortWeb.env.wasm.numThreads = 1;
const runtimes: readonly (readonly [string, OrtModule])[] = [
  ['onnxruntime-node', ortNode],
  ['onnxruntime-web', ortWeb as unknown as OrtModule],
];

const folder = (name: string): string => fixturePath(`architectures/${name}`);
const readFixture = (name: string): ArchitectureFixture => JSON.parse(fs.readFileSync(folder(`${name}.json`), 'utf8')) as ArchitectureFixture;

/** The first error of a comparison, described so that a failure names where and by how much. */
function compare(what: string, ours: OnnxTensor, expected: Stored, rtol: number): void {
  expect(ours.dims, `${what}: shape`).toEqual(expected.shape);
  const values = ours.data as Float32Array;
  let scale = 0;
  for (const v of expected.data) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  let at = 0;
  expected.data.forEach((v, i) => {
    const d = Math.abs((values[i] as number) - v);
    if (!(d <= worst)) {
      worst = Number.isNaN(d) ? Infinity : d;
      at = i;
    }
  });
  expect(
    worst,
    `${what}: max |ours − torch| = ${worst.toExponential(3)} at flat index ${at} (ours ${values[at]}, torch ${expected.data[at]}); ` +
      `allowed ${rtol} · max |torch| = ${(rtol * scale).toExponential(3)}`,
  ).toBeLessThanOrEqual(rtol * scale);
}

function inputOf(ref: ArchitectureFixture): OnnxTensor {
  return tensor(Float32Array.from(ref.input.data), ref.input.shape);
}

for (const name of ARCHITECTURES) {
  const ref = readFixture(name);
  const summary = ref.notes.split(' (')[0]!.split(';')[0]!;

  describe(`architecture ${name} — ${summary}`, () => {
    for (const opset of OPSETS) {
      const file = folder(`${name}.opset${opset}.onnx`);

      it(`opset ${opset}: inspectModel reports a gradient rule for every operator`, () => {
        const ops = inspectModel(new Uint8Array(fs.readFileSync(file))).ops;
        expect(ops.filter((o) => !o.gradient).map((o) => o.op)).toEqual([]);
      });

      for (const [runtime, ort] of runtimes) {
        describe(`opset ${opset} on ${runtime}`, () => {
          let model: Promise<OnnxModel>;
          beforeAll(() => {
            model = fromOnnx(ort, file);
            model.catch(() => undefined); // reported by each test
          });
          afterAll(async () => {
            (await model.catch(() => undefined))?.dispose();
          });

          it('output matches PyTorch', async () => {
            const m = await model;
            const x = inputOf(ref);
            const { output } = await m.forward({ inputs: [x] });
            compare(`${name} opset ${opset} ${runtime} output`, output, ref.output, OUTPUT_RTOL);
          });

          it('Saliency (abs: false) matches Captum', async () => {
            const m = await model;
            const x = inputOf(ref);
            const result = await new Saliency(m).attribute(x, { target: ref.target, abs: false });
            compare(`${name} opset ${opset} ${runtime} saliency`, result.attributions, ref.saliency, ATTRIBUTION_RTOL);
          });

          it(`IntegratedGradients (${ref.nSteps} steps, ${ref.method}, baselines 0) matches Captum`, async () => {
            const m = await model;
            const x = inputOf(ref);
            const result = await new IntegratedGradients(m).attribute(x, {
              target: ref.target,
              baselines: 0,
              nSteps: ref.nSteps,
              method: ref.method,
              returnConvergenceDelta: true,
            });
            compare(`${name} opset ${opset} ${runtime} integrated gradients`, result.attributions, ref.ig, ATTRIBUTION_RTOL);
            // delta = Σ attributions − (F(x) − F(0)) per example: a difference of float32 sums.
            const delta = result.delta!.data as Float32Array;
            const perExample = ref.ig.data.length / ref.ig.delta.length;
            ref.ig.delta.forEach((d, i) => {
              let mass = 0;
              for (let j = i * perExample; j < (i + 1) * perExample; j++) mass += Math.abs(ref.ig.data[j]!);
              expect(Math.abs(delta[i]! - d), `${name} opset ${opset} ${runtime} convergence delta of example ${i}`).toBeLessThanOrEqual(
                ATTRIBUTION_RTOL * (mass + 1),
              );
            });
          });
        });
      }
    }
  });
}
