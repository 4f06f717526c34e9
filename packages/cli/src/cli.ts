import { writeFile } from 'node:fs/promises';
import { closestName } from '@attribution/core';
import { fromOnnx, type HostTensor, type OnnxModel, type OrtModule } from '@attribution/onnx';
import { inspectModel } from '@attribution/onnx-grad';
import { primaryMethods } from '@attribution/primary';
import { ArgumentError, AttributionError, toNumbers } from '@attribution/tensor';
import { SingleBar } from 'cli-progress';
import { Command, CommanderError, Option } from 'commander';
import { parseOptions, parseTarget, readTensor } from './read.js';
import { SEED, seedModel } from './seed.js';
import { summarize } from './summary.js';

/** Where the CLI writes; tests pass their own. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** The stream progress bars go to, when it is a terminal. */
  readonly progressStream?: NodeJS.WriteStream;
}

const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  progressStream: process.stderr.isTTY ? process.stderr : undefined,
};

const collect = (value: string, previous: string[]): string[] => [...previous, value];

async function loadRuntime(name: string): Promise<OrtModule> {
  if (name === 'node') return (await import('onnxruntime-node')) as unknown as OrtModule;
  if (name === 'web') {
    try {
      return (await import('onnxruntime-web')) as unknown as OrtModule;
    } catch {
      throw new ArgumentError('--runtime', "an installed runtime ('web' needs the onnxruntime-web package)", `'${name}'`);
    }
  }
  throw new ArgumentError('--runtime', "'node' or 'web'", `'${name}'`);
}

interface ExplainOptions {
  method: string;
  input: string[];
  baseline: string[];
  featureMask: string[];
  target?: string;
  options?: string;
  output?: string;
  out?: string;
  runtime: string;
}

async function explain(modelPath: string | Uint8Array, o: ExplainOptions, io: Io): Promise<void> {
  const method = primaryMethods[o.method];
  if (!method) {
    const guess = closestName(o.method, Object.keys(primaryMethods));
    throw new ArgumentError('--method', `one of ${Object.keys(primaryMethods).join(', ')}`, `'${o.method}'`, guess ? `Did you mean ${guess}?` : undefined);
  }
  if (o.input.length === 0) throw new ArgumentError('--input', 'at least one input file (.npy or .json)', 'none');
  if (o.baseline.length > 0 && !method.baselines) throw new ArgumentError('--baseline', `no baseline: ${o.method} does not take baselines`, `${o.baseline.length}`);
  if (o.featureMask.length > 0 && !method.featureMask) throw new ArgumentError('--feature-mask', `no feature mask: ${o.method} does not take one`, `${o.featureMask.length}`);
  const ort = await loadRuntime(o.runtime);
  const model: OnnxModel = await fromOnnx(ort, modelPath, o.output ? { output: o.output } : {});
  try {
    const inputs = await Promise.all(o.input.map((f, i) => readTensor(f, `--input #${i + 1}`)));
    const baselines = await Promise.all(
      o.baseline.map((b, i) => (b.trim() !== '' && Number.isFinite(Number(b)) ? Number(b) : readTensor(b, `--baseline #${i + 1}`))),
    );
    const masks = await Promise.all(o.featureMask.map((f, i) => readTensor(f, `--feature-mask #${i + 1}`)));
    const extra = parseOptions(o.options);
    let bar: SingleBar | undefined;
    const options = {
      ...(o.target !== undefined ? { target: parseTarget(o.target) } : {}),
      ...(baselines.length ? { baselines: baselines.length === 1 && inputs.length === 1 ? baselines[0] : baselines } : {}),
      ...(masks.length ? { featureMask: masks.length === 1 && inputs.length === 1 ? masks[0] : masks } : {}),
      ...extra,
      onProgress: io.progressStream
        ? ({ done, total }: { done: number; total: number }) => {
            if (!bar) {
              bar = new SingleBar({ stream: io.progressStream, format: `${o.method} [{bar}] {value}/{total} model calls`, hideCursor: true });
              bar.start(total, 0);
            }
            bar.update(done);
          }
        : undefined,
    };
    const attributing = method.create(model).attribute(inputs, options);
    const result = await attributing.finally(() => bar?.stop());
    const attributions = result.attributions as HostTensor[];
    const delta = result.delta as HostTensor | undefined;
    const names = model.inputNames.slice(0, inputs.length);
    if (o.out) {
      const json = {
        method: o.method,
        model: typeof modelPath === 'string' ? modelPath : 'seed',
        output: model.output,
        target: options.target ?? null,
        attributions: attributions.map((a, i) => ({ name: names[i], shape: a.dims, data: Array.from(toNumbers(a.data)) })),
        ...(delta ? { delta: Array.from(toNumbers(delta.data)) } : {}),
      };
      await writeFile(o.out, `${JSON.stringify(json)}\n`);
      io.out(`wrote ${o.out}\n`);
    } else {
      io.out(`${method.className} on '${model.output}'${options.target !== undefined ? `, target ${JSON.stringify(options.target)}` : ''} (${o.runtime === 'web' ? 'onnxruntime-web' : 'onnxruntime-node'})\n`);
      io.out(`${summarize(names, attributions, delta)}\n`);
    }
  } finally {
    model.dispose();
  }
}

async function inspect(modelPath: string, io: Io): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(modelPath);
  } catch (e) {
    throw new ArgumentError('model', 'a readable ONNX file', `'${modelPath}' (${(e as Error).message})`);
  }
  const s = inspectModel(bytes);
  const dims = (shape?: readonly (number | string)[]): string => (shape ? `[${shape.map((d) => (typeof d === 'string' && d.startsWith('?') ? '?' : d)).join(', ')}]` : '[?]');
  const lines = [
    `${modelPath}: opset ${s.opset}${s.producer ? `, produced by ${s.producer}` : ''}`,
    'inputs:',
    ...s.inputs.map((i) => `  ${i.name}  ${i.type} ${dims(i.shape)}`),
    'outputs:',
    ...s.outputs.map((i) => `  ${i.name}  ${i.type} ${dims(i.shape)}`),
    'operators (count, gradient rule):',
    ...s.ops.map((op) => `  ${op.op.padEnd(24)} ${String(op.count).padStart(4)}  ${op.gradient ? 'yes' : 'NO'}`),
  ];
  const missing = s.ops.filter((op) => !op.gradient).map((op) => op.op);
  lines.push(missing.length ? `gradient methods need rules for: ${missing.join(', ')} (or --options '{"gradient":"finite-difference"}' on the model)` : 'every operator has a gradient rule: all methods work on this model');
  io.out(`${lines.join('\n')}\n`);
}

async function demo(io: Io): Promise<void> {
  io.out('Captum’s seed example, Linear(5, 1) + ReLU, as an ONNX model run by onnxruntime-node\n');
  io.out(`Weights: [${SEED.weight.map((v) => v.toFixed(4)).join(', ')}], bias ${SEED.bias.toFixed(4)}\n`);
  io.out(`Input: [${SEED.input.map((v) => v.toFixed(4)).join(', ')}], baseline zeros, target 0\n`);
  const ort = await loadRuntime('node');
  const model = await fromOnnx(ort, seedModel());
  try {
    const { tensor } = await import('@attribution/onnx');
    const x = tensor(Float32Array.from(SEED.input), [1, 5]);
    const { attributions, delta } = await primaryMethods['integrated-gradients']!.create(model).attribute([x], { target: 0, returnConvergenceDelta: true });
    const attr = toNumbers((attributions[0] as HostTensor).data);
    io.out(`IG Attributions: [${Array.from(attr, (v) => v.toFixed(4)).join(', ')}]\n`);
    io.out(`Convergence Delta: ${toNumbers((delta as HostTensor).data)[0]?.toExponential(2)}\n`);
  } finally {
    model.dispose();
  }
}

/** Builds the command-line program. */
export function program(io: Io = processIo): Command {
  const cmd = new Command('attribution')
    .description('Explain ONNX model predictions with the attribution methods of Captum.')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  cmd
    .command('explain')
    .description('attribute a model output to its inputs')
    .argument('<model>', 'the ONNX model file')
    .requiredOption('--method <name>', `the method: ${Object.keys(primaryMethods).join(', ')}`)
    .option('--input <file>', 'an input tensor, .npy or .json {shape, dtype, data}; repeat for a model with several inputs', collect, [])
    .option('--baseline <file|number>', 'a baseline per input (default zeros)', collect, [])
    .option('--feature-mask <file>', 'an integer feature mask per input (.npy or .json) for perturbation methods', collect, [])
    .option('--target <n|n,n,...>', 'the output index to explain, or one per example')
    .option('--options <json>', "the method's options as JSON, e.g. '{\"nSteps\":20}'")
    .option('--output <name>', 'the model output to explain (default: the first)')
    .option('--out <file>', 'write {method, attributions: [{name, shape, data}], delta?} as JSON')
    .addOption(new Option('--runtime <name>', 'onnxruntime package to run with').choices(['node', 'web']).default('node'))
    .action(async (model: string, opts: ExplainOptions) => explain(model, opts, io));
  cmd.command('inspect').description('inputs, outputs, operators and which have gradient rules').argument('<model>', 'the ONNX model file').action(async (model: string) => inspect(model, io));
  cmd.command('demo').description("Captum's seed example").action(async () => demo(io));
  return cmd;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  try {
    await program(io).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const message = e instanceof AttributionError ? e.message : `unexpected error: ${(e as Error).stack ?? String(e)}`;
    io.err(`attribution: ${message}\n`);
    return 1;
  }
}
