import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph, UnsupportedOperatorError, hasShapeArithmetic, inferShapes, inspectModel, topoSort, transformModel, type TransformOptions } from '@attribution/onnx-grad';
import { describe, expect, it } from 'vitest';
import { fixture } from './fixtures.js';

// The gradient rewrite must never turn a model ONNX Runtime accepts into one it refuses: every model the
// builder writes for the fixtures (forward with captured and replaced tensors, gradients with each rule
// set, specialised to concrete shapes where the graph computes with its own) is loaded by ONNX Runtime.

function onnxFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort().map((f) => path.join(dir, f));
}

// The architectures at opset 17 (their opset 13 files differ in the exporter's LayerNormalization; both are
// differentiated, loaded and checked against PyTorch by the architecture suite).
const files = [
  ...['models', 'real'].flatMap((d) => onnxFiles(fixture(d))),
  ...onnxFiles(fixture('architectures')).filter((f) => f.endsWith('.opset17.onnx')),
  ...onnxFiles(fileURLToPathSafe('../../onnx-grad/test/fixtures')),
];

function fileURLToPathSafe(relative: string): string {
  return new URL(relative, import.meta.url).pathname;
}

/** The rewrites the library asks of a model. */
function rewrites(bytes: Uint8Array, architecture: boolean): [string, TransformOptions][] {
  const graph = new Graph(bytes);
  topoSort(graph.graph);
  graph.refresh();
  inferShapes(graph);
  const summary = inspectModel(bytes);
  const layers = summary.layers.map((l) => l.name);
  const middle = layers[Math.floor(layers.length / 2)];
  // A symbol names one size across the inputs (an RNN's batch is dim 0 of X and dim 1 of its initial state);
  // DeepLift's doubled batch doubles the symbols found in dim 0.
  const symbols = new Map<string, number>();
  const batchSymbols = new Set(graph.inputs.map((vi) => graph.info(vi.name).shape?.[0]).filter((d): d is string => typeof d === 'string'));
  const concrete = (double: boolean): Record<string, number[]> =>
    Object.fromEntries(
      graph.inputs.map((vi) => [
        vi.name,
        (graph.info(vi.name).shape ?? []).map((d, i) => {
          if (typeof d === 'number') return d;
          if (!symbols.has(d)) symbols.set(d, i === 0 ? 2 : 3);
          return (symbols.get(d) as number) * (double && batchSymbols.has(d) ? 2 : 1);
        }),
      ]),
    );
  const shapes = hasShapeArithmetic(graph) ? concrete(false) : undefined;
  const wrt = summary.differentiated;
  const out: [string, TransformOptions][] = [['forward', {}]];
  if (middle) out.push(['capture and replace', { capture: [layers[0] as string, middle], replace: [middle] }]);
  if (wrt.length > 0) {
    // (Gradients with respect to the inputs are loaded, and checked against PyTorch, by the architecture suite.)
    if (!architecture) out.push(['gradient', { wrt, inputShapes: shapes }], ['guided backprop', { wrt, rules: 'guided-backprop', inputShapes: shapes }]);
    if (middle && !wrt.includes(middle)) out.push(['gradient w.r.t. a layer', { wrt: [middle], inputShapes: shapes }]);
    out.push(['deeplift', { wrt, rules: 'deeplift', inputShapes: shapes && concrete(true) }]);
  }
  return out;
}

describe('every rewritten model of the fixtures loads in ONNX Runtime', () => {
  it('finds the fixtures', () => expect(files.length).toBeGreaterThan(10));
  for (const file of files) {
    it(path.relative(fixture('.'), file), async () => {
      const bytes = new Uint8Array(fs.readFileSync(file));
      const refused: string[] = [];
      for (const [what, options] of rewrites(bytes, file.includes(`${path.sep}architectures${path.sep}`))) {
        let built;
        try {
          built = transformModel(bytes, options);
        } catch (e) {
          // A refusal is a typed error naming operators; it is checked elsewhere. What is built must load.
          if (!(e instanceof UnsupportedOperatorError)) throw e;
          refused.push(`${what}: ${e.operators.map((o) => o.opType).join(', ')}`);
          continue;
        }
        const session = await ort.InferenceSession.create(built.bytes).catch((e: Error) => {
          throw new Error(`${what}: ONNX Runtime refused the rewritten model: ${e.message}`);
        });
        await session.release();
      }
      if (refused.length) console.log(`${path.basename(file)} refused: ${refused.join('; ')}`);
    }, 60_000);
  }
});
