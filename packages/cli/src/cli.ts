import { fromOnnx, type HostTensor, type OnnxModel } from '@attribution/onnx';
import { inspectModel } from '@attribution/onnx-grad';
import { primaryMethods } from '@attribution/primary';
import { ArgumentError, AttributionError, shapesEqual, toNumbers } from '@attribution/tensor';
import { SingleBar } from 'cli-progress';
import type { AttackFlags } from './attack.js';
import type { ConceptFlags } from './concept.js';
import type { InfluenceFlags } from './influence.js';
import { CommanderError, Option, type Command } from 'commander';
import type { PictureOptions } from './pictures.js';
import type { DatasetFlags } from './dataset.js';
import { EP_HELP, METHODS, NO_CACHE_HELP, chooseMethod, labelsOf, loadRuntime, methodOptions, modelOptions, resolveClasses, type MethodFlags, type TargetClasses } from './methods.js';
import { parseLimits } from './limits.js';
import { checkDistinctOutputs, checkOutputFile, checkOutputFormat, writeAtomic, type ReadPath } from './output.js';
import { ATTACK_METHODS, INFLUENCE_METHODS, TEXT_METHOD_NAMES } from './names.js';
import { runSeed, seedOption, seedingOf } from './seeding.js';
import { readTensor } from './read.js';
import { SEED, seedModel } from './seed.js';
import { summarize } from './summary.js';
import type { ExplainTextFlags } from './text.js';
import { CliCommand, checkUsage, repeatable, required, version } from './usage.js';

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

interface ExplainOptions extends PictureOptions, MethodFlags {
  input: string[];
  output?: string;
  out?: string;
  runtime: string;
}

async function explain(modelPath: string | Uint8Array, o: ExplainOptions, io: Io): Promise<void> {
  const method = chooseMethod(o);
  if (o.input.length === 0) throw new ArgumentError('--input', 'at least one input file (.npy or .json)', 'none');
  const limits = parseLimits(o.limit);
  checkOutputs(modelPath, o);
  const labels = await labelsOf(o);
  const ort = await loadRuntime(o.runtime);
  const model: OnnxModel = await fromOnnx(ort, modelPath, modelOptions(o, limits, labels));
  try {
    const inputs = await Promise.all(o.input.map((f, i) => readTensor(f, `--input #${i + 1}`, limits)));
    let bar: SingleBar | undefined;
    const options: Record<string, unknown> = {
      ...(await methodOptions(o, inputs.length, labels)),
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
    // Stochastic methods: example i's seed is derived from the run's seed (given or drawn) and i, as in explain-dataset.
    const seeding = seedingOf(o.method, options);
    const seed = seeding === 'none' ? undefined : runSeed(options).seed;
    if (seed !== undefined) options.seed = seedOption(seeding, seed, 0, (inputs[0] as HostTensor).dims[0] ?? 1);
    // 'predicted' is resolved here (the same one forward pass the method would make) so the output can name the classes.
    const given = options.target;
    const classes = await resolveClasses(model, options, inputs, labels);
    const attributing = method.create(model, o.layer).attribute(inputs, options);
    const result = await attributing.finally(() => bar?.stop());
    // Layer methods return the layer's shape; Lime and KernelShap with returnInputShape false one [N, M] tensor.
    const attributions = (Array.isArray(result.attributions) ? result.attributions : [result.attributions]) as HostTensor[];
    const delta = result.delta as HostTensor | undefined;
    const names =
      method.family === 'layer'
        ? [o.layer as string]
        : attributions.length === inputs.length && attributions.every((a, i) => shapesEqual(a.dims, (inputs[i] as HostTensor).dims))
          ? model.inputNames.slice(0, inputs.length)
          : ['interpretable features'];
    const pictures: [string | undefined, () => Promise<void>][] = [
      [o.heatmap, async () => (await import('./pictures.js')).writeHeatmap(o.heatmap as string, inputs[0] as HostTensor, attributions[0] as HostTensor, o)],
      [o.plot, async () => (await import('./pictures.js')).writePlot(o.plot as string, attributions, names, o)],
      [o.html, async () => (await import('./pictures.js')).writeHtml(o.html as string, model, inputs, attributions[0] as HostTensor, classes ? [...classes.indices] : options.target, o)],
    ];
    for (const [file, write] of pictures) {
      if (file === undefined) continue;
      await write();
      io.out(`wrote ${file}\n`);
    }
    if (o.out) {
      const json = {
        method: o.method,
        model: typeof modelPath === 'string' ? modelPath : 'seed',
        output: model.output,
        target: o.targetMask !== undefined ? { mask: o.targetMask } : (given ?? null),
        // The indices explained, where the target was 'predicted' or named classes.
        ...(typeof given === 'string' || (Array.isArray(given) && given.some((t) => typeof t === 'string')) ? { targetIndices: classes?.indices ?? options.target } : {}),
        ...(classes?.labels ? { targetLabels: classes.labels } : {}),
        ...(o.layer !== undefined ? { layer: o.layer } : {}),
        ...(o.neuron !== undefined ? { neuron: options.neuronSelector } : {}),
        attributions: attributions.map((a, i) => ({ name: names[i], shape: a.dims, data: Array.from(toNumbers(a.data)) })),
        ...(delta ? { delta: Array.from(toNumbers(delta.data)) } : {}),
        ...(seed !== undefined ? { seed } : {}),
      };
      writeAtomic(o.out, `${JSON.stringify(json)}\n`, { argument: '--out' });
      io.out(`wrote ${o.out}\n`);
    } else {
      const what =
        method.family === 'neuron'
          ? `neuron ${JSON.stringify(options.neuronSelector)} of '${o.layer}'`
          : `'${model.output}'${given !== undefined ? `, target ${o.targetMask !== undefined ? `mask ${o.targetMask}` : targetText(given, options.target, classes)}` : ''}${method.family === 'layer' ? `, layer '${o.layer}'` : ''}`;
      io.out(`${method.className} on ${what} (${o.runtime === 'web' ? 'onnxruntime-web' : 'onnxruntime-node'}${seed !== undefined ? `, seed ${seed}` : ''})\n`);
      io.out(`${summarize(names, attributions, delta)}\n`);
    }
  } finally {
    model.dispose();
  }
}

/** The target in the summary line: as given, with the class of each example when it was resolved or has a name. */
function targetText(given: unknown, resolved: unknown, classes: TargetClasses | undefined): string {
  const text = JSON.stringify(given);
  if (!classes) return given === resolved ? text : `${text} (${JSON.stringify(resolved)})`;
  if (given !== 'predicted' && !classes.labels) return text;
  const each = classes.indices.map((k, i) => (classes.labels ? `${k} '${classes.labels[i]}'` : String(k)));
  const shown = each.length > 8 ? [...each.slice(0, 8), `… (${each.length})`] : each;
  return `${text} (${new Set(each).size === 1 ? each[0] : shown.join(', ')})`;
}

/**
 * Checks every output of `explain` before any work: each can be written (an existing, writable folder; not a
 * folder itself), none overwrites the model or a file the command reads, and no two are the same file.
 */
function checkOutputs(modelPath: string | Uint8Array, o: ExplainOptions): void {
  const outputs = (
    [
      ['--out', o.out],
      ['--heatmap', o.heatmap],
      ['--plot', o.plot],
      ['--html', o.html],
    ] as const
  ).flatMap(([argument, file]) => (file === undefined ? [] : [{ argument, file }]));
  if (!outputs.length) return;
  const isNumber = (b: string): boolean => b.trim() !== '' && Number.isFinite(Number(b));
  const reads: ReadPath[] = [
    ...(typeof modelPath === 'string' ? [{ path: modelPath, what: 'the model' }] : []),
    ...o.input.map((f, i) => ({ path: f, what: `the --input #${i + 1} file` })),
    ...o.baseline.flatMap((b, i) => (isNumber(b) ? [] : [{ path: b, what: `the --baseline #${i + 1} file` }])),
    ...o.featureMask.map((f, i) => ({ path: f, what: `the --feature-mask #${i + 1} file` })),
    ...(
      [
        ['--target-mask', o.targetMask],
        ['--labels', o.labels],
        ['--feature-names', o.featureNames],
        ['--tokens', o.tokens],
        ['--class-names', o.classNames],
      ] as const
    ).flatMap(([flag, file]) => (file === undefined ? [] : [{ path: file, what: `the ${flag} file` }])),
  ];
  for (const { argument, file } of outputs) checkOutputFile(file, argument, reads);
  checkDistinctOutputs(outputs);
  // The format comes from the file name: --heatmap out.jpg is refused rather than written as a PNG named .jpg.
  for (const { argument, file } of outputs) checkOutputFormat(file, argument);
}

async function inspect(modelPath: string, o: { layers?: boolean }, io: Io): Promise<void> {
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
  const wrt = s.differentiated.join(', ');
  if (s.unsupported.length === 0) lines.push(s.differentiated.length ? `gradients of '${s.outputs[0]?.name}' with respect to ${wrt}: every operator on the way has a rule, all methods work on this model` : 'no floating-point input to differentiate: perturbation methods work; gradient methods need a layer');
  else {
    lines.push(
      `gradient methods (with respect to ${wrt}) need rules for: ${s.unsupported.map((u) => `${u.opType} (${u.count} node${u.count === 1 ? '' : 's'}, first '${u.node}'${u.detail ? `: ${u.detail}` : ''})`).join('; ')}`,
      "  perturbation methods work on this model; for gradient methods pass --gradient finite-difference (two forward passes per input element), or attribute to a layer after these operators",
    );
  }
  if (s.differentiated.length > 0 && s.unsupported.length === 0 && s.lrpUnsupported) {
    lines.push(
      s.lrpUnsupported.length === 0
        ? 'lrp: every layer on the way has a default rule'
        : `lrp (Captum's default rules) refuses: ${s.lrpUnsupported.map((u) => `${u.opType} (${u.count} node${u.count === 1 ? '' : 's'}, first '${u.node}')`).join('; ')}; give each a rule with --options '{"rules": {"<node>": {"rule": "identity"}}}' (or epsilon, gamma, alpha1beta0), or use another method`,
    );
  }
  if (o.layers) lines.push('layers (tensors to pass as --layer):', ...s.layers.map((l) => `  ${l.name}  ${l.op} ${dims(l.shape)}`));
  else lines.push(`${s.layers.length} layer tensors (list them with --layers)`);
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

const RUNTIME = (): Option => new Option('--runtime <name>', 'the onnxruntime package to run with: onnxruntime-node or onnxruntime-web').choices(['node', 'web']).default('node');
const GRADIENT =
  "how gradients are computed: 'graph' (default: the backward graph, run in ONNX Runtime) or 'finite-difference' (central differences from forward passes, for models with operators that have no backward rule: two forward passes per input element, so slow; plain gradients only, not for DeepLift, Guided Backprop or Deconvolution)";

/** Builds the command-line program. */
export function program(io: Io = processIo): Command {
  const cmd = new CliCommand('attribution')
    .description('Explain ONNX model predictions with the attribution methods of Captum.')
    .version(version(), '-v, --version', 'print the version')
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  cmd.hook('preAction', checkUsage);
  cmd
    .command('explain')
    .description("attribute a model output to its inputs or to a layer, or a neuron's value to the inputs")
    .argument('<model>', 'the ONNX file to explain')
    .addOption(required(new Option('--method <name>', `the method: ${Object.keys(METHODS).join(', ')}; a misspelt name gets a suggestion`)))
    .addOption(repeatable(new Option('--input <file>', 'an input tensor, .npy or .json {shape, dtype, data}; repeat for a model with several inputs')))
    .addOption(repeatable(new Option('--baseline <file|number>', 'a baseline per input, for methods that take baselines (the SHAP methods take a file of reference rows) (default: zeros)')))
    .addOption(repeatable(new Option('--feature-mask <file>', 'an integer feature mask per input (.npy or .json), for the perturbation methods')))
    .option('--target <n|name|predicted|n,name,...>', "the output index or class name (--labels) to explain, one per example, or 'predicted' (each example's predicted class: its largest output); refused by methods that explain no output")
    .option('--target-mask <file>', 'explain Σ output ⊙ mask instead: weights over the output (.npy or .json), shaped like it without the batch dimension (shared), with it (one per example) or broadcastable to it; not with --target')
    .option('--labels <file>', 'the class names of the output, in order: a text file with one per line, or a .json array of strings; --target may then name classes')
    .option('--layer <name>', 'the layer (an ONNX tensor or node name) for layer and neuron methods and guided-grad-cam; attribution inspect --layers lists them')
    .option('--neuron <i,j,...>', 'the neuron: its index in the layer output without the batch dimension; a:b ranges select a block (summed), e.g. 0:16,3,3')
    .option('--options <json>', "the method's options as JSON, e.g. '{\"nSteps\":20}'")
    .option('--output <name>', 'the model output to explain (default: the first)')
    .option('--gradient <how>', GRADIENT)
    .option('--out <file>', 'write {method, model, output, target, attributions: [{name, shape, data}], delta?, seed?} as JSON instead of printing a summary')
    .option('--heatmap <file.png>', "draw the first input's attributions over the image as a PNG (NCHW unless --layout hwc), one panel per example")
    .option('--heatmap-method <name>', 'heat_map, blended_heat_map, masked_image, alpha_scaling or original_image (default: heat_map)')
    .option('--sign <name>', 'absolute_value, all, positive or negative (default: absolute_value)')
    .option('--layout <chw|hwc>', 'the channel layout of image inputs (default: chw)')
    .option('--plot <file.svg>', "an SVG bar chart of one example's largest attributions (tabular inputs)")
    .option('--feature-names <file.json>', 'a JSON array of feature names for --plot')
    .option('--html <file.html>', "an HTML page of the tokens coloured by attribution, as Captum's text visualisation")
    .option('--tokens <file.json>', 'a JSON array of tokens (or one per example) for --html')
    .option('--true-label <label>', 'the true label shown by --html')
    .option('--class-names <file.json>', 'a JSON array of class names for --html')
    .option('--example <k>', 'which example --plot draws (default: 0)')
    .addOption(repeatable(new Option('--limit <name=value>', 'raise or lower a resource limit: npy-header, elements, gradient-nodes, gradient-constant (see docs/security.md#limits); repeat for several')))
    .option('--ep <providers>', EP_HELP)
    .option('--no-cache', NO_CACHE_HELP)
    .addOption(RUNTIME())
    .action(async (model: string, opts: ExplainOptions) => explain(model, opts, io));
  cmd
    .command('explain-dataset')
    .description('attribute every example of a dataset in batches, resumably, optionally sharded across processes or machines')
    .argument('<model>', 'the ONNX file to explain')
    .addOption(required(new Option('--method <name>', 'the method (as for explain)')))
    .addOption(repeatable(new Option('--inputs <stack|folder>', 'a .npy stack [M, …], a .json tensor or a folder of them (in name order); repeat per model input')))
    .addOption(required(new Option('--out <dir>', 'where results go: manifest.json and, per batch, batch-NNNNNN.json with batch-NNNNNN-<k>.npy')))
    .option('--target <n|name|predicted>', "the output index or class name (--labels) to explain for every example, or 'predicted' (each example's argmax)")
    .option('--targets <file.json>', 'a JSON array of targets (indices or class names), one per example')
    .option('--labels <file>', 'the class names of the output: a text file with one per line, or a .json array of strings')
    .option('--target-mask <file>', 'explain Σ output ⊙ mask for every example: weights over the output without the batch dimension (.npy or .json)')
    .addOption(repeatable(new Option('--baseline <file|number>', 'a baseline per input (default: zeros)')))
    .addOption(repeatable(new Option('--feature-mask <file>', 'an integer feature mask per input')))
    .option('--layer <name>', 'the layer, for layer and neuron methods')
    .option('--neuron <i,j,...>', 'the neuron, for neuron methods')
    .option('--options <json>', "the method's options as JSON (a seed here seeds every batch reproducibly)")
    .option('--output <name>', 'the model output to explain (default: the first)')
    .option('--gradient <how>', GRADIENT)
    .option('--batch-size <n>', 'examples per batch and result file (default: 16)')
    .option('--shard <k/n|auto>', "do only batches b with b mod n = k (run shards 0/n … n−1/n anywhere, into one folder or one folder each, then attribution merge); 'auto' reads k and n from the batch engine: Slurm job arrays, AWS Batch array jobs, Kubernetes Indexed Jobs (with auto/n), ATTRIBUTION_SHARD_INDEX/COUNT (e.g. from a GitHub Actions matrix)")
    .option('--workers <w>', 'run w processes here, each on its share (one ONNX Runtime thread each; default: 1)')
    .option('--summary <file.json>', 'once every batch is done, write the statistics of the attributions over the dataset per position (count, mean, variance, std dev, min, max; overall and per target class) as JSON')
    .addOption(repeatable(new Option('--limit <name=value>', 'raise or lower a resource limit: npy-header, elements, rows, workers, gradient-nodes, gradient-constant (see docs/security.md#limits); repeat for several')))
    .option('--ep <providers>', EP_HELP)
    .option('--no-cache', NO_CACHE_HELP)
    .addOption(RUNTIME())
    .action(async (model: string, opts: DatasetFlags) => (await import('./dataset.js')).explainDataset(model, opts, io.out));
  cmd
    .command('explain-text')
    .description("attribute a language model's continuation of a prompt to the prompt's tokens or a template's values (Captum's LLMAttribution)")
    .argument('<model-dir>', 'the model folder to explain: tokenizer.json, tokenizer_config.json, config.json and onnx/model.onnx (the transformers.js layout)')
    .addOption(required(new Option('--method <name>', `the method: ${TEXT_METHOD_NAMES.join(', ')}`)))
    .option('--prompt <text>', 'the prompt; its tokens are the features')
    .option('--target <text>', "the continuation to explain (default: the model's greedy continuation)")
    .option('--template <text>', 'instead of --prompt: a template with {} (or {name}) slots whose --values are the features; {{ and }} are braces')
    .option('--values <a,b,...>', "the template's values, a comma list (\\, is a comma); name=value pairs for {name} slots")
    .option('--baselines <x,y,...|token>', "what an absent feature becomes: one per template value, or for --prompt one token or token id (default: '' for each template value, token id 0 for --prompt)")
    .option('--skip-tokens <t1,t2,...>', 'tokens (vocabulary strings) left out of the target and of the prompt features, e.g. [BOS]')
    .addOption(new Option('--attr-target <what>', 'the score attributed: the log-probability or the probability of the target (default: log_prob)').choices(['log_prob', 'prob']))
    .option('--max-new-tokens <n>', 'without --target: how many tokens greedy generation adds at most (default: 25)')
    .option('--num-trials <n>', 'repetitions averaged (sampling methods differ between trials; default: 1)')
    .option('--layer <name>', 'layer-integrated-gradients: the layer (default: the token embedding)')
    .option('--options <json>', "the method's options as JSON, e.g. '{\"nSamples\":200}' or '{\"nSteps\":20}'; numTrials too")
    .option('--out <file>', "write {method, inputTokens, outputTokens, seqAttr, tokenAttr, outputProbs} as JSON ('-': print it)")
    .option('--html <file.html>', 'an HTML page of the prompt and target coloured by attribution, with the token table')
    .option('--plot <file.svg>', 'the output×input token heat map as SVG (the sequence bar chart for methods without token attributions)')
    .option('--seq-plot <file.svg>', "the sequence attribution's bar chart as SVG")
    .option('--model-file <name>', 'the decoder file: a path in the folder (onnx/decoder_model_merged.onnx) or a name (decoder_model_merged) (default: the first of model, decoder_model_merged, decoder_with_past_model)')
    .option('--quantized', 'load the quantized variant of the model file (onnx/model_quantized.onnx, …)')
    .addOption(RUNTIME())
    .action(async (modelDir: string, opts: ExplainTextFlags) => (await import('./text.js')).explainText(modelDir, opts, io));
  cmd
    .command('attack')
    .description("adversarial examples and robustness (Captum's captum.robust): FGSM and PGD attacks, a comparison of attacks, the smallest attack that changes the predictions")
    .argument('<model>', 'the ONNX file to attack')
    .addOption(required(new Option('--method <name>', `${ATTACK_METHODS.join(', ')}`)))
    .addOption(repeatable(new Option('--input <file>', 'an input tensor, .npy or .json {shape, dtype, data}; repeat for a model with several inputs')))
    .option('--target <n|n,n,...>', 'the true class of every example (untargeted: moved away from it), or with --targeted the class to reach; one integer, or one per example')
    .option('--targeted', 'move each example towards its --target class instead of away from it')
    .option('--options <json>', 'the method\'s options in camelCase: fgsm {"epsilon":0.1}; pgd {"radius":0.2,"stepSize":0.05,"stepNum":10,"norm":"Linf","randomStart":false,"seed":0}; both take "lowerBound", "upperBound" and "lossFunc" ("neg-log", "cross-entropy", "mse", "neg-output": −output[target]); compare {"attacks":[{"method":"fgsm","epsilon":0.1},{"method":"gaussian-noise","std":0.2,"numAttempts":5}]}; min-param {"attack":"fgsm","argName":"epsilon","argMin":0,"argMax":0.5,"argStep":0.01,"mode":"binary"}')
    .option('--output <name>', 'the model output attacked (default: the first)')
    .option('--out <file>', "write {method, perturbed: [{name, shape, data}], predictions: {before, after}} (compare: results and summary; min-param: param too) as JSON ('-': print it)")
    .addOption(repeatable(new Option('--limit <name=value>', 'raise or lower a resource limit: npy-header, elements (see docs/security.md#limits); repeat for several')))
    .option('--ep <providers>', EP_HELP)
    .option('--no-cache', NO_CACHE_HELP)
    .addOption(RUNTIME())
    .action(async (model: string, opts: AttackFlags) => (await import('./attack.js')).attack(model, opts, io.out));
  cmd
    .command('concept')
    .description("how much human concepts drive a prediction (Captum's TCAV): concepts and random counterexamples given by .npy examples, a CAV per concept and layer, TCAV scores and their significance against random concepts")
    .argument('<model>', 'the ONNX file to explain')
    .addOption(repeatable(new Option('--layer <name>', 'a layer to test the concepts at (attribution inspect --layers lists them); repeat for several')))
    .addOption(repeatable(new Option('--concept <name=path>', 'a concept: a .npy stack of examples [M, …] (each shaped like one input example), or a folder of .npy files, one example each; repeat for several')))
    .addOption(repeatable(new Option('--random <path>', 'random counterexamples (a .npy stack or a folder); with two or more, each concept is scored against each and tested against random-versus-random scores (t-test)')))
    .addOption(repeatable(new Option('--input <file>', 'the inputs whose predictions are explained (.npy or .json)')))
    .option('--target <n|n,n,...>', 'the output class explained: one integer, or one per example')
    .option('--options <json>', '{"classifier":"sgd"|"ridge","seed":0,"alpha":0.01,"batchSize":64,"internalBatchSize":…,"attributeToLayerInput":false,"significance":0.05}')
    .option('--out <file>', "write {method, layers, target, concepts, random, scores, cavAccuracy, significance} as JSON ('-': print it)")
    .addOption(repeatable(new Option('--limit <name=value>', 'raise or lower a resource limit: npy-header, elements (see docs/security.md#limits); repeat for several')))
    .option('--ep <providers>', EP_HELP)
    .option('--no-cache', NO_CACHE_HELP)
    .addOption(RUNTIME())
    .action(async (model: string, opts: ConceptFlags) => (await import('./concept.js')).conceptCommand(model, opts, io.out));
  cmd
    .command('influence')
    .description("which training examples drive a prediction (Captum's captum.influence): TracIn over checkpoints, influence functions, similarity of layer activations")
    .argument('<model>', 'the ONNX file (for TracIn: the network whose --checkpoint files are given; without them, the model itself is the one checkpoint)')
    .addOption(required(new Option('--method <name>', INFLUENCE_METHODS.join(', '))))
    .addOption(repeatable(new Option('--train <file>', 'the training inputs: a .npy stack [M, …] or a .json tensor; repeat for a model with several inputs')))
    .option('--train-labels <file>', 'the training labels (class indices): a .json array or a .npy tensor; not for similarity')
    .addOption(repeatable(new Option('--input <file>', 'the test inputs to explain (.npy or .json)')))
    .option('--target <n|n,n,...>', "the test examples' labels (class indices) for the loss: one integer, or one per example")
    .addOption(repeatable(new Option('--layer <name>', 'similarity: a layer whose activations are compared; repeat for several')))
    .addOption(repeatable(new Option('--checkpoint <file.onnx=lr>', 'TracIn: a checkpoint of training, an ONNX file of the same network, with the learning rate used after it (default 1); repeat in training order. naive-influence-function: the one model explained')))
    .option('--self-influence', "also write each training example's self influence (tracin-cp, tracin-cp-fast, naive-influence-function)")
    .option('--options <json>', '{"k":5,"proponents":true,"lossFunc":"cross-entropy" (default)|"neg-log"|"mse"|"neg-output" (−output[label], the class score),"batchSize":32}; tracin-cp and naive-influence-function: "layers" (parameter or layer names); tracin-cp-fast(-rand-proj): "finalLayer"; rand-proj: "projectionDim","seed"; naive: "hessianReg","hessianInverseTol","projectionDim","hessian"; similarity: "similarityMetric" ("cosine"|"euclidean"),"similarityDirection" ("max"|"min")')
    .option('--out <file>', "write {method, checkpoints, influence (scores [test][train], or with k {indices, influenceScores}), selfInfluence?, layers? (similarity)} as JSON ('-': print it)")
    .addOption(repeatable(new Option('--limit <name=value>', 'raise or lower a resource limit: npy-header, elements (see docs/security.md#limits); repeat for several')))
    .option('--ep <providers>', EP_HELP)
    .option('--no-cache', NO_CACHE_HELP)
    .addOption(RUNTIME())
    .action(async (model: string, opts: InfluenceFlags) => (await import('./influence.js')).influenceCommand(model, opts, io.out));
  cmd
    .command('inspect')
    .description('inputs, outputs, operators and which have gradient rules')
    .argument('<model>', 'the ONNX file to inspect')
    .option('--layers', 'also list the tensors layer and neuron methods can explain')
    .action(async (model: string, opts: { layers?: boolean }) => inspect(model, opts, io));
  cmd
    .command('verify')
    .description('re-check a results folder of explain-dataset: its manifest, every batch record and array file (size and sha256), which batches are missing; exit 1 unless complete')
    .argument('<dir>', 'the folder explain-dataset wrote (its --out)')
    .action(async (dir: string) => (await import('./results.js')).verifyCommand(dir, io.out));
  cmd
    .command('merge')
    .description('combine the result folders of one explain-dataset run computed in shards (one folder each) into one folder: every folder verified, their manifests equal, each batch in exactly one')
    .argument('<dirs...>', 'the shard folders (each written by explain-dataset --shard)')
    .addOption(required(new Option('--out <dir>', 'the merged folder: new or empty; verified after the copy')))
    .action(async (dirs: string[], opts: { out: string }) => (await import('./merge.js')).mergeCommand(dirs, opts.out, io.out));
  const cache = cmd.command('cache').description('the on-disk cache of built gradient models and ONNX Runtime\'s optimised models ($XDG_CACHE_HOME/attribution): building one for a large model costs more than the attribution, so each is kept');
  cache
    .command('info')
    .description('where the cache is, how many models it holds and their size')
    .option('--folder <dir>', 'another cache folder')
    .action(async (opts: { folder?: string }) => {
      const { gradientModelCache } = await import('@attribution/onnx');
      const c = gradientModelCache(opts.folder);
      const { entries, bytes } = await c.size();
      io.out(`${c.folder}: ${entries} cached model${entries === 1 ? '' : 's'}, ${(bytes / 2 ** 20).toFixed(1)} MiB\n`);
    });
  cache
    .command('clear')
    .description('delete every cached model')
    .option('--folder <dir>', 'another cache folder')
    .action(async (opts: { folder?: string }) => {
      const { gradientModelCache } = await import('@attribution/onnx');
      const c = gradientModelCache(opts.folder);
      const { files, bytes } = await c.clear();
      io.out(`${c.folder}: removed ${files} file${files === 1 ? '' : 's'}, ${(bytes / 2 ** 20).toFixed(1)} MiB\n`);
    });
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
