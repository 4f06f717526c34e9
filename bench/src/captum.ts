import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { fixturePath } from '@attribution/conformance';
import { LayerGradCam, LayerIntegratedGradients } from '@attribution/layer';
import { fromOnnx, hostBackend, tensor, type HostTensor, type OnnxModel } from '@attribution/onnx';
import {
  Deconvolution,
  DeepLift,
  DeepLiftShap,
  FeatureAblation,
  FeaturePermutation,
  GradientShap,
  GuidedBackprop,
  GuidedGradCam,
  InputXGradient,
  IntegratedGradients,
  KernelShap,
  Lime,
  NoiseTunnel,
  Occlusion,
  Saliency,
  ShapleyValueSampling,
} from '@attribution/primary';
import { createRandom } from '@attribution/tensor';
import * as ortNode from 'onnxruntime-node';
import type { TextModel } from '@attribution/text';
import { TEXT, TEXT_CASES, loadTiny, prepareText, textLabel, textOptions, type PreparedText, type Timed } from './captum-text.js';
import { benchModel } from './onnx-ig.js';
import { median } from './stats.js';
import { peakRssMb, round, type BenchRecord } from './record.js';

/**
 * `pnpm bench:captum [method...]`: Captum 0.8 on PyTorch against this library on onnxruntime-node, case by case,
 * with the same model, input and options on both sides. Optional and by hand (never a test dependency): without
 * python3 + torch + torchvision + Captum it prints why and exits 0.
 *
 * Cases: the primary and layer methods on MobileNetV2-224 (group `image`) and on the breast-cancer MLP (`mlp`),
 * and the text methods LLMAttribution (FeatureAblation) and LLMGradientAttribution (LayerIntegratedGradients) on
 * the fixture decoder packages/text/fixtures/tiny-gpt (`text`, see captum-text.ts). BENCH_CAPTUM_CASES=text (or
 * a comma-separated list of groups) runs only those; the arguments pick methods by name (LLMAttribution,
 * LLMGradientAttribution for the text ones).
 *
 * Each case is set up on both sides (models loaded, method built: untimed), called once on each side (warm-up,
 * untimed), then timed for BENCH_RUNS rounds (default 3), each round ours then Captum's, so both see the same load;
 * the record holds the medians. Only `attribute()` is timed: on our side around the awaited call, on Captum's in
 * Python (perf_counter around `method.attribute(...)`), so the pipe to Python is not counted.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.resolve(here, '../src/captum_server.py');
const TORCH_THREADS = 2;
const IMAGE = 'mobilenet_v2_224';
const MLP = 'breast_cancer';

/** A random N(0, 1) tensor, the same bytes on both sides (ours in memory, Captum's from a raw float32 file). */
interface Data {
  readonly $data: { readonly shape: readonly number[]; readonly seed: number };
}
const normal = (shape: readonly number[], seed: number): Data => ({ $data: { shape, seed } });
const isData = (v: unknown): v is Data => typeof v === 'object' && v !== null && '$data' in v;

/** The groups of cases: the MobileNetV2-224 ones, the breast-cancer MLP ones and the text ones (tiny-gpt). */
const GROUPS = ['image', 'mlp', 'text'] as const;

/** BENCH_CAPTUM_CASES: a comma-separated list of groups (image, mlp, text); unset or empty, all of them. */
function caseGroups(value: string | undefined): Set<string> {
  const names = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(GROUPS as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`BENCH_CAPTUM_CASES: unknown group(s) ${unknown.join(', ')} (known: ${GROUPS.join(', ')})`);
  return new Set(names.length ? names : GROUPS);
}

interface Case {
  readonly method: string;
  readonly model: typeof IMAGE | typeof MLP;
  /** The input: one 224×224 image or one row of 30 features (FeaturePermutation permutes across a batch: 32 rows). */
  readonly inputs: Data;
  /** The layer as our ONNX tensor name and as the torch module path of the same tensor. */
  readonly layer?: { readonly onnx: string; readonly torch: string };
  /** Written once: passed to our `attribute()` as is and to Captum's with its keyword names. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly note?: string;
}

const image = normal([1, 3, 224, 224], 3);
const row = normal([1, 30], 5);
const imageBaselines = normal([10, 3, 224, 224], 11);
/** The last convolution (features.18's conv, before its ReLU6): GradCam's usual layer. */
const lastConv = { onnx: '/features/features.18/features.18.0/Conv_output_0', torch: 'features.18.0' };
/** A mid-network layer for LayerIntegratedGradients: block 4's projection convolution (32×28×28). */
const midConv = { onnx: '/features/features.4/conv/conv.2/Conv_output_0', torch: 'features.4.conv.2' };
/** The issue's occlusion (3×15×15 windows, stride 3×8×8: 784 windows); by default a 3×32×32 grid (49 windows, see below). */
const fullOcclusion = process.env.BENCH_CAPTUM_FULL === '1';

const CASES: readonly Case[] = [
  { method: 'IntegratedGradients', model: IMAGE, inputs: image, options: { target: 7, nSteps: 50, internalBatchSize: 10 } },
  { method: 'Saliency', model: IMAGE, inputs: image, options: { target: 7, abs: true } },
  { method: 'InputXGradient', model: IMAGE, inputs: image, options: { target: 7 } },
  { method: 'DeepLift', model: IMAGE, inputs: image, options: { target: 7 } },
  { method: 'DeepLiftShap', model: IMAGE, inputs: image, options: { target: 7, baselines: imageBaselines } },
  { method: 'GradientShap', model: IMAGE, inputs: image, options: { target: 7, baselines: imageBaselines, nSamples: 20, stdevs: 0.0, seed: 1 } },
  { method: 'GuidedBackprop', model: IMAGE, inputs: image, options: { target: 7 } },
  { method: 'Deconvolution', model: IMAGE, inputs: image, options: { target: 7 } },
  { method: 'GuidedGradCam', model: IMAGE, inputs: image, layer: lastConv, options: { target: 7, interpolateMode: 'nearest' } },
  { method: 'NoiseTunnel', model: IMAGE, inputs: image, options: { target: 7, ntType: 'smoothgrad', nSamples: 10, stdevs: 1.0, abs: true, seed: 1 }, note: 'NoiseTunnel(Saliency)' },
  fullOcclusion
    ? { method: 'Occlusion', model: IMAGE, inputs: image, options: { target: 7, slidingWindowShapes: [3, 15, 15], strides: [3, 8, 8], perturbationsPerEval: 16 } }
    : { method: 'Occlusion', model: IMAGE, inputs: image, options: { target: 7, slidingWindowShapes: [3, 32, 32], strides: [3, 32, 32], perturbationsPerEval: 16 } },
  { method: 'LayerIntegratedGradients', model: IMAGE, inputs: image, layer: midConv, options: { target: 7, nSteps: 50, internalBatchSize: 10 } },
  { method: 'LayerGradCam', model: IMAGE, inputs: image, layer: lastConv, options: { target: 7 } },
  { method: 'FeatureAblation', model: MLP, inputs: row, options: { target: 0 } },
  { method: 'FeaturePermutation', model: MLP, inputs: normal([32, 30], 5), options: { target: 0, seed: 1 } },
  { method: 'ShapleyValueSampling', model: MLP, inputs: row, options: { target: 0, nSamples: 25, seed: 1 } },
  { method: 'KernelShap', model: MLP, inputs: row, options: { target: 0, nSamples: 1000, perturbationsPerEval: 100, seed: 1 } },
  { method: 'Lime', model: MLP, inputs: row, options: { target: 0, nSamples: 1000, perturbationsPerEval: 100, seed: 1 } },
];

interface Method {
  attribute(inputs: HostTensor, options: object): Promise<{ attributions: HostTensor }>;
}

/** Our method of a case, built like Captum's (`NoiseTunnel` wraps `Saliency`). */
function ours(c: Case, model: OnnxModel): Method {
  const layer = c.layer?.onnx as string;
  const m: Record<string, () => unknown> = {
    IntegratedGradients: () => new IntegratedGradients(model),
    Saliency: () => new Saliency(model),
    InputXGradient: () => new InputXGradient(model),
    DeepLift: () => new DeepLift(model),
    DeepLiftShap: () => new DeepLiftShap(model),
    GradientShap: () => new GradientShap(model),
    GuidedBackprop: () => new GuidedBackprop(model),
    Deconvolution: () => new Deconvolution(model),
    GuidedGradCam: () => new GuidedGradCam(model, layer),
    NoiseTunnel: () => new NoiseTunnel(new Saliency(model)),
    Occlusion: () => new Occlusion(model),
    LayerIntegratedGradients: () => new LayerIntegratedGradients(model, layer),
    LayerGradCam: () => new LayerGradCam(model, layer),
    FeatureAblation: () => new FeatureAblation(model),
    FeaturePermutation: () => new FeaturePermutation(model),
    ShapleyValueSampling: () => new ShapleyValueSampling(model),
    KernelShap: () => new KernelShap(model),
    Lime: () => new Lime(model),
  };
  return (m[c.method] as () => Method)();
}

const values = (d: Data): Float32Array => {
  const rng = createRandom(d.$data.seed);
  return Float32Array.from({ length: d.$data.shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
};

/** The Python side: captum_server.py over a line protocol. */
class Captum {
  private readonly pending: ((line: string) => void)[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = '';

  constructor(python: string, env: NodeJS.ProcessEnv) {
    this.child = spawn(python, [SERVER], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout }).on('line', (line) => this.pending.shift()?.(line));
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.child.on('exit', (code) => {
      for (const reject of this.pending.splice(0)) reject(JSON.stringify({ error: `captum_server.py exited (${code}): ${this.stderr.trim().split('\n').pop() ?? ''}` }));
    });
  }

  async call<R>(message: object): Promise<R> {
    const line = await new Promise<string>((resolve) => {
      this.pending.push(resolve);
      this.child.stdin.write(`${JSON.stringify(message)}\n`);
    });
    const reply = JSON.parse(line) as R & { error?: string };
    if (reply.error) throw new Error(reply.error);
    return reply;
  }

  close(): void {
    this.child.stdin.end();
  }
}

interface Versions {
  readonly torch: string;
  readonly torchvision: string;
  readonly captum: string;
  readonly python: string;
  readonly threads: number;
  readonly cpu: string;
}

/** The first python with torch, torchvision and Captum (BENCH_PYTHON, python3, /usr/bin/python3), or why none. */
function findPython(env: NodeJS.ProcessEnv): { python: string; versions: Versions } | string {
  const tried: string[] = [];
  for (const python of [process.env.BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => Boolean(p))) {
    const r = spawnSync(python, [SERVER, '--check'], { env, encoding: 'utf8' });
    if (r.status === 0) return { python, versions: JSON.parse(r.stdout.trim().split('\n').pop() as string) as Versions };
    tried.push(`${python}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)}`);
  }
  return tried.join('; ');
}

/** `--markdown`: the suite's records of bench/results.json as the rows of docs/performance.md's table (runs nothing). */
function markdown(): void {
  const file = new URL('../results.json', import.meta.url);
  const records = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { records?: (BenchRecord & { date?: string; machine?: Record<string, unknown> })[] }).records ?? [] : [];
  const mine = records.filter((r) => r.suite === 'captum');
  if (!mine.length) {
    console.log('bench/results.json has no captum records: run pnpm bench:captum first.');
    return;
  }
  const first = mine[0] as (typeof mine)[number];
  console.log(`<!-- ${first.date ?? ''}, ${first.runs} round(s): ${JSON.stringify(first.machine ?? {})} -->`);
  console.log('| method | model | ours (ms, median) | Captum (ms, median) | ratio | target |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of mine) console.log(`| ${r.method} | ${r.model} | ${r.medianMs.toLocaleString('en-US')} | ${r.referenceMs.toLocaleString('en-US')} | ${r.ratio} | ${r.target ?? ''} |`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--markdown')) {
    markdown();
    return;
  }
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const captumSrc = process.env.CAPTUM_SRC ?? (fs.existsSync('/tmp/captum-src/captum') ? '/tmp/captum-src' : undefined);
  const env = { ...process.env, BENCH_TORCH_THREADS: String(TORCH_THREADS), ...(captumSrc ? { PYTHONPATH: [captumSrc, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) } : {}) };
  const found = findPython(env);
  if (typeof found === 'string') {
    console.log(`Captum benchmark skipped: no python3 with torch, torchvision and Captum (set BENCH_PYTHON, or CAPTUM_SRC to a Captum checkout) — ${found}`);
    return;
  }
  const wanted = new Set(process.argv.slice(2));
  let groups: Set<string>;
  try {
    groups = caseGroups(process.env.BENCH_CAPTUM_CASES);
  } catch (e) {
    console.log((e as Error).message);
    process.exitCode = 1;
    return;
  }
  const imageFile = groups.has('image') ? benchModel('mobilenet_v2_224.onnx') : undefined;
  if (groups.has('image') && !imageFile) console.log('mobilenet_v2_224.onnx not found: set ATTRIBUTION_BENCH_MODELS to its folder; skipping the MobileNetV2-224 cases.');
  const files: Record<string, string | undefined> = { [IMAGE]: imageFile, [MLP]: groups.has('mlp') ? fixturePath('real/breast_cancer.onnx') : undefined };
  const cases = CASES.filter((c) => files[c.model] && (!wanted.size || wanted.has(c.method)));
  const textCases = groups.has('text') ? TEXT_CASES.filter((c) => !wanted.size || wanted.has(c.method) || wanted.has(textLabel(c))) : [];
  if (!cases.length && !textCases.length) {
    console.log(`No case selected (BENCH_CAPTUM_CASES=${process.env.BENCH_CAPTUM_CASES ?? ''}, methods: ${[...wanted].join(' ') || 'all'}).`);
    return;
  }

  const { versions } = found;
  const ortVersion = (ortNode.env as { versions?: { node?: string; common?: string } }).versions;
  const machine = {
    cpu: versions.cpu,
    cores: os.cpus().length,
    node: process.version,
    onnxruntime: `onnxruntime-node ${ortVersion?.node ?? ortVersion?.common ?? '?'} (default session threads)`,
    torch: `${versions.torch} (torch.set_num_threads(${versions.threads}))`,
    torchvision: versions.torchvision,
    captum: versions.captum,
    python: versions.python,
  };
  console.log(`Captum ${versions.captum} on PyTorch ${versions.torch} (${versions.threads} threads) against onnxruntime-node ${machine.onnxruntime.split(' ')[1]} (ONNX Runtime's default threads) on ${machine.cores} × ${machine.cpu}, node ${process.version}; median of ${runs} interleaved round(s) after one untimed call each.`);
  if (fullOcclusion) console.log('BENCH_CAPTUM_FULL=1: Occlusion with the issue\'s 3×15×15 windows, stride 3×8×8 (784 windows).');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-captum-'));
  const captum = new Captum(found.python, env);
  const models = new Map<string, OnnxModel>();
  let tiny: TextModel | undefined;
  const records: BenchRecord[] = [];
  /** Warm-up (untimed) then `runs` interleaved rounds of one case; prints the sums and writes its record. */
  const measure = async (label: string, record: { model: string; method: string; options: object }, ourCall: () => Promise<Timed>): Promise<void> => {
    const captumCall = (): Promise<Timed> => captum.call({ op: 'run' });
    const warm = [await ourCall(), await captumCall()] as const;
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < runs; r++) {
      a.push((await ourCall()).ms);
      b.push((await captumCall()).ms);
    }
    const [oursMs, captumMs] = [median(a), median(b)];
    const full: BenchRecord & { machine: typeof machine } = {
      suite: 'captum',
      backend: 'onnxruntime-node',
      ...record,
      medianMs: round(oursMs),
      reference: `Captum ${versions.captum} (PyTorch ${versions.torch})`,
      referenceMs: round(captumMs),
      ratio: round(oursMs / captumMs, 3),
      target: '≤ 0.2',
      peakRssMb: peakRssMb(),
      runs,
      machine,
    };
    records.push(full);
    // Per-feature agreement where both sides return their values (the text cases' seq_attr).
    const [mine, theirs] = [warm[0].values, warm[1].values];
    const diff = mine && theirs && mine.length === theirs.length ? `, max |Δ| per feature ${Math.max(...mine.map((v, i) => Math.abs(v - (theirs[i] as number)))).toExponential(2)}` : '';
    console.log(`${label}: ours ${full.medianMs} ms, Captum ${full.referenceMs} ms, ratio ${full.ratio} (attribution sums: ours ${warm[0].sum.toPrecision(6)}, Captum ${warm[1].sum.toPrecision(6)}${diff})`);
  };
  try {
    for (const c of cases) {
      const file = files[c.model] as string;
      if (!models.has(c.model)) models.set(c.model, await fromOnnx(ortNode, file));
      const model = models.get(c.model) as OnnxModel;
      // The tensors of the case: ours in memory, Captum's as raw float32 files; the same numbers.
      const tensors: HostTensor[] = [];
      const toFile = (d: Data, name: string): object => {
        const target = path.join(tmp, `${name}.f32`);
        const data = values(d);
        fs.writeFileSync(target, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
        return { $tensor: target, shape: d.$data.shape };
      };
      const toOurs = (d: Data): HostTensor => {
        const t = tensor(values(d), d.$data.shape);
        tensors.push(t);
        return t;
      };
      const ourOptions = Object.fromEntries(Object.entries(c.options).map(([k, v]) => [k, isData(v) ? toOurs(v) : v]));
      const captumOptions = Object.fromEntries(Object.entries(c.options).map(([k, v]) => [k, isData(v) ? toFile(v, k) : v]));
      const x = toOurs(c.inputs);
      const method = ours(c, model);
      const label = c.note ?? c.method;
      try {
        await captum.call({ op: 'setup', case: { model: c.model, modelFile: file, method: c.method, torchLayer: c.layer?.torch, inputs: toFile(c.inputs, 'inputs'), options: captumOptions } });
      } catch (e) {
        console.log(`${label}: Captum setup failed, case skipped (${(e as Error).message})`);
        for (const t of tensors) hostBackend.dispose(t);
        continue;
      }
      const ourCall = async (): Promise<Timed> => {
        const t = performance.now();
        const r = await method.attribute(x, ourOptions);
        const ms = performance.now() - t;
        let sum = 0;
        for (const v of r.attributions.data as Float32Array) sum += v;
        hostBackend.dispose(r.attributions);
        return { ms, sum };
      };
      try {
        const options = Object.fromEntries(Object.entries(c.options).map(([k, v]) => [k, isData(v) ? `${v.$data.shape.join('×')} N(0,1)` : v]));
        await measure(label, { model: c.model, method: c.layer ? `${label} (${c.layer.torch})` : label, options: { inputs: c.inputs.$data.shape.join('×'), ...options } }, ourCall);
      } catch (e) {
        console.log(`${label}: failed, case skipped (${(e as Error).message})`);
      } finally {
        for (const t of tensors) hostBackend.dispose(t);
      }
    }
    for (const c of textCases) {
      const label = textLabel(c);
      let prepared: PreparedText | undefined;
      try {
        tiny ??= await loadTiny();
        prepared = prepareText(c, tiny);
        const agreement = await prepared.check(await captum.call({ op: 'setup', case: prepared.setup }));
        console.log(`${label}: ${agreement}`);
      } catch (e) {
        console.log(`${label}: setup failed, case skipped (${(e as Error).message})`);
        prepared?.dispose();
        continue;
      }
      try {
        await measure(label, { model: TEXT, method: c.layer ? `${label} (${c.layer.torch})` : label, options: textOptions(c) }, prepared.ours);
      } catch (e) {
        console.log(`${label}: failed, case skipped (${(e as Error).message})`);
      } finally {
        prepared.dispose();
      }
    }
  } finally {
    captum.close();
    for (const m of models.values()) m.dispose();
    tiny?.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  // printTable's columns, with the method (this suite has many) and without the repeated reference string.
  if (records.length) {
    console.log(`\nAgainst Captum ${versions.captum} (PyTorch ${versions.torch}, ${TORCH_THREADS} threads): our attribute() on onnxruntime-node / Captum's, same model, input and options (target ≤ 0.2)`);
    console.table(records.map((r) => ({ model: r.model, method: r.method, options: JSON.stringify(r.options), 'median ms': r.medianMs, 'Captum ms': r.referenceMs, ratio: r.ratio, target: r.target ?? '' })));
  }
  if (!records.length) return;
  // Like `pnpm bench`: the cases run replace their previous records; the other suites' and cases' are kept.
  const file = new URL('../results.json', import.meta.url);
  const date = new Date().toISOString();
  const previous = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { date?: string; records?: (BenchRecord & { date?: string })[] }) : {};
  const kept = (previous.records ?? []).filter((r) => r.suite !== 'captum' || !records.some((n) => n.model === r.model && n.method === r.method)).map((r) => ({ ...r, date: r.date ?? previous.date }));
  fs.writeFileSync(file, `${JSON.stringify({ date, node: process.version, records: [...kept, ...records.map((r) => ({ ...r, date }))] }, null, 2)}\n`);
  console.log(`\nwritten ${file.pathname}`);
}

await main();
