import { fromOnnx, HostTensor, type OnnxModel, type OnnxTensor } from '@attribution/onnx';
import { AttackComparator, FGSM, MinParamPerturbation, PGD, type Attack } from '@attribution/robust';
import { ArgumentError, closestName, createRandom, describeValue, toNumbers } from '@attribution/tensor';
import { loadRuntime, parseProviders } from './methods.js';
import { parseLimits } from './limits.js';
import { withCliLosses } from './losses.js';
import { checkJsonOut, writeAtomic } from './output.js';
import { ATTACK_METHODS } from './names.js';
import { parseOptions, parseTarget, readTensor } from './read.js';

type AttackMethod = (typeof ATTACK_METHODS)[number];

/** The flags of `attribution attack`. */
export interface AttackFlags {
  /** false with `--no-cache`. */
  cache?: boolean;
  /** `--ep cuda,cpu`: ONNX Runtime execution providers. */
  ep?: string;
  method: string;
  input: string[];
  target?: string;
  targeted?: boolean;
  options?: string;
  out?: string;
  output?: string;
  limit?: string[];
  runtime: string;
}

/** Options of FGSM and PGD's constructors; the rest of `--options` goes to `perturb`. */
const CONSTRUCTOR = ['lossFunc', 'lowerBound', 'upperBound'];
/** The attacks `compare` and `min-param` run, by name. */
const ATTACKS = ['fgsm', 'pgd', 'gaussian-noise'] as const;

type Inputs = HostTensor[];

function split(options: Record<string, unknown>): { made: Record<string, unknown>; run: Record<string, unknown> } {
  const made: Record<string, unknown> = {};
  const run: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) (CONSTRUCTOR.includes(k) ? made : run)[k] = v;
  return { made, run };
}

/**
 * Gaussian noise with standard deviation `std` (seeded), clamped to `lowerBound`/`upperBound`: the random
 * perturbation `compare` and `min-param` offer next to FGSM and PGD (Captum's tutorials use torchvision noise).
 */
function gaussianNoise(options: Record<string, unknown>): Attack<Inputs> {
  const lo = typeof options.lowerBound === 'number' ? options.lowerBound : -Infinity;
  const hi = typeof options.upperBound === 'number' ? options.upperBound : Infinity;
  let calls = 0;
  return async (inputs, kwargs = {}) => {
    const std = (kwargs as Record<string, unknown>).std ?? options.std;
    if (typeof std !== 'number' || !Number.isFinite(std) || std < 0) throw new ArgumentError('std', 'a finite number ≥ 0 (the noise standard deviation)', describeValue(std));
    const seed = typeof options.seed === 'number' ? options.seed : 0;
    const rng = createRandom(seed + calls++);
    return inputs.map((x) => {
      const values = Float32Array.from(toNumbers(x.data), (v) => Math.min(hi, Math.max(lo, v + std * rng.normal())));
      return new HostTensor(values, x.dims, 'float32');
    });
  };
}

/** An attack of `compare` / `min-param` by name, as a function of the inputs and its keyword options. */
function namedAttack(model: OnnxModel, name: unknown, options: Record<string, unknown>, argument: string): { attack: Attack<Inputs>; kwargs: Record<string, unknown> } {
  if (typeof name !== 'string' || !(ATTACKS as readonly string[]).includes(name)) {
    const guess = typeof name === 'string' ? closestName(name, ATTACKS) : undefined;
    throw new ArgumentError(argument, `one of ${ATTACKS.join(', ')}`, describeValue(name), guess ? `Did you mean ${guess}?` : undefined);
  }
  const { method: _method, name: _name, numAttempts: _n, ...rest } = options;
  if (name === 'gaussian-noise') return { attack: gaussianNoise(rest), kwargs: {} };
  const { made, run } = split(withCliLosses(rest));
  const instance = name === 'fgsm' ? new FGSM(model, made) : new PGD(model, made);
  return { attack: instance as unknown as Attack<Inputs>, kwargs: run };
}

/** Each example's largest output (the predicted class). */
async function predictions(model: OnnxModel, inputs: Inputs): Promise<number[]> {
  const { output } = await model.forward({ inputs });
  const values = toNumbers((output as HostTensor).data);
  const [n, ...rest] = (output as HostTensor).dims as number[];
  const width = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: n as number }, (_, i) => {
    let best = 0;
    for (let j = 1; j < width; j++) if ((values[i * width + j] as number) > (values[i * width + best] as number)) best = j;
    return best;
  });
}

const asJson = (name: string, t: HostTensor): { name: string; shape: readonly number[]; data: number[] } => ({ name, shape: t.dims, data: Array.from(toNumbers(t.data)) });

/**
 * `attribution attack <model> --method fgsm|pgd|compare|min-param`: adversarial examples and robustness metrics
 * (Captum's captum.robust) for an ONNX model.
 */
export async function attack(modelPath: string, o: AttackFlags, out: (text: string) => void): Promise<void> {
  if (!(ATTACK_METHODS as readonly string[]).includes(o.method)) {
    const guess = closestName(o.method, ATTACK_METHODS);
    throw new ArgumentError('--method', `one of ${ATTACK_METHODS.join(', ')}`, `'${o.method}'`, guess ? `Did you mean ${guess}?` : undefined);
  }
  const method = o.method as AttackMethod;
  if (o.input.length === 0) throw new ArgumentError('--input', 'at least one input file (.npy or .json)', 'none');
  if (o.target === undefined) throw new ArgumentError('--target', 'the true labels (or, with --targeted, the classes to reach): an integer or one per example', 'none');
  const target = parseTarget(o.target);
  if (target === 'predicted' || (Array.isArray(target) ? target : [target]).some((t) => typeof t !== 'number')) {
    throw new ArgumentError('--target', 'class indices: an integer or comma-separated integers (one per example)', `'${o.target}'`);
  }
  const options = parseOptions(o.options);
  const limits = parseLimits(o.limit);
  checkJsonOut(o.out, modelPath, o.input);
  const ort = await loadRuntime(o.runtime);
  const providers = parseProviders(o.ep);
  const model = await fromOnnx(ort, modelPath, { ...(o.output !== undefined ? { output: o.output } : {}), ...(providers ? { executionProviders: providers } : {}), ...(o.cache === false ? { cache: false } : {}) });
  try {
    const inputs = await Promise.all(o.input.map((f, i) => readTensor(f, `--input #${i + 1}`, limits)));
    const names = model.inputNames.slice(0, inputs.length);
    const before = await predictions(model, inputs);
    let result: Record<string, unknown>;
    if (method === 'fgsm' || method === 'pgd') {
      const { made, run } = split(withCliLosses(options));
      const instance = method === 'fgsm' ? new FGSM(model, made) : new PGD(model, made);
      const perturbed = (await (instance as FGSM<OnnxTensor>).perturb(inputs, { ...run, target, targeted: o.targeted ?? false } as never)) as HostTensor[];
      result = { method, target, targeted: o.targeted ?? false, options, perturbed: perturbed.map((t, i) => asJson(names[i] as string, t)), predictions: { before, after: await predictions(model, perturbed) } };
    } else if (method === 'compare') {
      const attacks = options.attacks;
      if (!Array.isArray(attacks) || attacks.length === 0) {
        throw new ArgumentError('--options.attacks', 'a list of attacks, e.g. [{"method":"fgsm","epsilon":0.1},{"method":"gaussian-noise","std":0.2,"numAttempts":5}]', describeValue(attacks));
      }
      // The metric: each example's prediction is still its target (accuracy), and the target's output.
      const labels = (n: number): number[] => (Array.isArray(target) ? (target as number[]) : new Array<number>(n).fill(target as number));
      const comparator = new AttackComparator<OnnxTensor, Inputs>(model, async (output) => {
        const values = toNumbers((output as HostTensor).data);
        const [n, width] = (output as HostTensor).dims as [number, number];
        const wanted = labels(n);
        let correct = 0;
        let score = 0;
        for (let i = 0; i < n; i++) {
          const row = Array.from(values.subarray(i * width, (i + 1) * width));
          if (row.indexOf(Math.max(...row)) === wanted[i]) correct++;
          score += row[wanted[i] as number] as number;
        }
        return { accuracy: correct / n, targetOutput: score / n };
      });
      attacks.forEach((a: unknown, k: number) => {
        if (a === null || typeof a !== 'object' || Array.isArray(a)) throw new ArgumentError(`--options.attacks[${k}]`, 'an object {"method": …, options…}', describeValue(a));
        const spec = a as Record<string, unknown>;
        const { attack: fn, kwargs } = namedAttack(model, spec.method, spec, `--options.attacks[${k}].method`);
        const needsTarget = spec.method !== 'gaussian-noise';
        comparator.addAttack(fn as never, {
          name: typeof spec.name === 'string' ? spec.name : `${String(spec.method)}${attacks.filter((b: { method?: unknown }) => b.method === spec.method).length > 1 ? ` #${k + 1}` : ''}`,
          numAttempts: typeof spec.numAttempts === 'number' ? spec.numAttempts : 1,
          attackKwargs: needsTarget ? { ...kwargs, target, targeted: o.targeted ?? false } : kwargs,
        });
      });
      const results = await comparator.evaluate(inputs, {});
      result = { method, target, options, results, summary: comparator.summary(), predictions: { before } };
    } else {
      const { attack: name, argName, argMin, argMax, argStep, mode, numAttempts, ...rest } = options;
      const { attack: fn, kwargs } = namedAttack(model, name ?? 'fgsm', rest, '--options.attack');
      const search = new MinParamPerturbation(model, fn as never, { argName: argName as string, argMin: argMin as number, argMax: argMax as number, argStep: argStep as number, ...(mode !== undefined ? { mode: mode as never } : {}), ...(numAttempts !== undefined ? { numAttempts: numAttempts as number } : {}) });
      // "Correct" while every example keeps its prediction: the search ends at the first parameter that changes one
      // (the attack itself gets --target: the true labels, or with --targeted the classes to reach).
      const found = await search.evaluate(inputs, { target: before, attackKwargs: name === 'gaussian-noise' ? kwargs : { ...kwargs, target, targeted: o.targeted ?? false } });
      const perturbed = found.perturbed as HostTensor[] | HostTensor | null;
      const list = perturbed === null ? null : Array.isArray(perturbed) ? perturbed : [perturbed];
      result = {
        method,
        target,
        options,
        param: found.param,
        perturbed: list ? list.map((t, i) => asJson(names[i] as string, t)) : null,
        predictions: { before, after: list ? await predictions(model, list) : null },
      };
    }
    const json = `${JSON.stringify({ model: modelPath, output: model.output, ...result })}\n`;
    if (o.out === undefined || o.out === '-') {
      if (o.out === '-') out(json);
      else out(summaryOf(method, result));
    } else {
      writeAtomic(o.out, json, { argument: '--out' });
      out(`wrote ${o.out}\n`);
    }
  } finally {
    model.dispose();
  }
}

/** One or two lines about the result, when no --out is given. */
function summaryOf(method: AttackMethod, r: Record<string, unknown>): string {
  const p = r.predictions as { before: number[]; after: number[] | null };
  const changed = p.after ? p.after.filter((a, i) => a !== p.before[i]).length : 0;
  if (method === 'compare') return `${JSON.stringify(r.results, null, 1)}\n`;
  if (method === 'min-param') {
    return r.param === null ? 'no parameter in the range changed a prediction\n' : `smallest ${String((r.options as Record<string, unknown>).argName)}: ${String(r.param)}; predictions ${p.before.join(',')} → ${p.after?.join(',')}\n`;
  }
  return `${method}: predictions ${p.before.join(',')} → ${p.after?.join(',')} (${changed} of ${p.before.length} changed)\n`;
}

