import {
  Attribution,
  RUN_OPTION_NAMES,
  addRowNoise,
  callSeeds,
  checkBoolean,
  checkInteger,
  checkSeeds,
  deriveSeed,
  checkStdevs,
  normalizeArgs,
  prepareDistribution,
  prepareInputs,
  repeatInterleaveArgs,
  repeatInterleaveTarget,
  repeatRows,
  resolveTarget,
  restoreStructure,
  targetRowLimit,
  throwIfAborted,
  withScope,
  type ExampleSeeds,
  type RunOptions,
  type Scope,
} from '@attribution/core';
import { ArgumentError, createRandom, type Backend } from '@attribution/tensor';
import type { AttributionResult, ExampleSamplingOptions } from './types.js';

/** Anything with Captum's `attribute(inputs, options)` shape: the methods of this package. */
export interface AttributionMethod<T> extends Attribution<T> {
  attribute(inputs: readonly T[], options: object): Promise<AttributionResult<T[], T>>;
}

/** Options of {@link NoiseTunnel.attribute}: its own, plus those of the wrapped method (passed on). */
export interface NoiseTunnelOptions extends RunOptions, ExampleSamplingOptions {
  /** How the noisy attributions are combined (default `'smoothgrad'`: their mean). */
  readonly ntType?: 'smoothgrad' | 'smoothgrad_sq' | 'vargrad';
  /** Noisy copies per example (default 5). */
  readonly nSamples?: number;
  /** Standard deviation of the noise: one for all inputs or one per input (default 1). */
  readonly stdevs?: number | readonly number[];
  /** Draw each copy's baseline from `baselines` seen as a distribution of reference rows (default false). */
  readonly drawBaselineFromDistrib?: boolean;
  /** Noisy copies per example per call of the wrapped method: bounds the expanded batch (default all). */
  readonly nSamplesBatchSize?: number;
  /** Options of the wrapped method (target, baselines, nSteps, …). */
  readonly [option: string]: unknown;
}

const OWN = ['ntType', 'nSamples', 'stdevs', 'drawBaselineFromDistrib', 'nSamplesBatchSize', 'seed', ...RUN_OPTION_NAMES];
const NT_TYPES = ['smoothgrad', 'smoothgrad_sq', 'vargrad'] as const;

/**
 * NoiseTunnel (SmoothGrad, SmoothGrad², VarGrad; Smilkov et al., 2017): runs the wrapped method on noisy
 * copies of every example (example-major: copy j of example i is row i·S + j) and combines them per example
 * — mean, mean of squares, or variance. Costs the wrapped method's calls times the number of rounds.
 */
export class NoiseTunnel<T> extends Attribution<T> {
  constructor(readonly method: AttributionMethod<T>) {
    super(method?.model as never);
    if (typeof method?.attribute !== 'function') throw new ArgumentError('method', 'an attribution method (e.g. new Saliency(model))', String(method));
  }

  override get multipliesByInputs(): boolean {
    return this.method.multipliesByInputs;
  }

  override get stochastic(): boolean {
    return true;
  }

  override getName(): string {
    return `Noise Tunnel (${this.method.getName()})`;
  }

  attribute(inputs: T, options?: NoiseTunnelOptions): Promise<AttributionResult<T, T>>;
  attribute(inputs: readonly T[], options?: NoiseTunnelOptions): Promise<AttributionResult<T[], T>>;
  async attribute(inputs: T | readonly T[], options: NoiseTunnelOptions = {}): Promise<AttributionResult<T | T[], T>> {
    const ntType = options.ntType ?? 'smoothgrad';
    if (!NT_TYPES.includes(ntType)) throw new ArgumentError('ntType', `one of ${NT_TYPES.join(', ')}`, String(ntType));
    const samples = checkInteger('nSamples', options.nSamples ?? 5, 1);
    const perRound = Math.min(samples, checkInteger('nSamplesBatchSize', options.nSamplesBatchSize ?? samples, 1));
    const fromDistribution = checkBoolean('drawBaselineFromDistrib', options.drawBaselineFromDistrib ?? false);
    checkSeeds(options.seed);
    const wrapped = Object.fromEntries(Object.entries(options).filter(([key]) => !OWN.includes(key)));
    const b = this.backend;
    return withScope(b, async (scope) => {
      const x = await prepareInputs(b, inputs, { needsGradient: false });
      const stdevs = checkStdevs(options.stdevs, x.tensors.length, 1);
      const n = x.batchSize;
      // One seed for the call, or per example: copy j of example e then draws from e's seed and j alone.
      const seed = callSeeds(checkSeeds(options.seed, n), samples);
      // 'predicted' is each example's class on the inputs themselves: resolved once, before any noise is added.
      if (wrapped.target !== undefined) {
        wrapped.target = await resolveTarget(this.model, wrapped.target, x.tensors, normalizeArgs(wrapped.additionalForwardArgs), scope, { maxRows: targetRowLimit(wrapped), signal: options.signal });
      }
      const distribution = fromDistribution ? await prepareDistribution(b, wrapped.baselines, x, 1) : undefined;
      const drawn = distribution ? drawRows(seed, n * samples, distribution.rows) : [];
      let sum: T[] | undefined;
      let sumSq: T[] | undefined;
      const deltas: T[] = [];
      const rounds = Math.ceil(samples / perRound);
      for (let round = 0; round < rounds; round++) {
        throwIfAborted(options.signal);
        const s = Math.min(perRound, samples - round * perRound);
        // Global expanded-row ids (example-major over all samples) of this round's rows.
        const rowIds = Array.from({ length: n * s }, (_, k) => Math.floor(k / s) * samples + round * perRound + (k % s));
        const noisy = x.tensors.map((t, i) => scope.track(addRowNoise(b, scope.track(repeatRows(b, t, s)), rowIds, seed, stdevs[i] as number, i)));
        const roundOptions = await this.expandOptions(b, wrapped, n, s, scope, distribution ? { tensors: distribution.tensors, rows: rowIds.map((r) => drawn[r] as number) } : undefined);
        // The wrapped call sees the abort signal too (progress stays per round: one round is one wrapped call).
        const result = await this.method.attribute(noisy, { ...roundOptions, ...(options.signal ? { signal: options.signal } : {}), ...(this.method.stochastic ? { seed: wrappedSeed(seed, round, rowIds) } : {}) });
        const attributions = scope.track(Array.isArray(result.attributions) ? result.attributions : [result.attributions as unknown as T]);
        if (result.delta) deltas.push(scope.track(result.delta));
        const grouped = attributions.map((a) => scope.track(b.reshape(a, [n, s, ...b.shape(a).slice(1)])));
        const partSum = grouped.map((g) => scope.track(b.sum(g, 1)));
        const partSq = grouped.map((g) => scope.track(b.tidy(() => b.sum(b.square(g), 1))));
        scope.free([...noisy, ...attributions, ...grouped]);
        sum = accumulate(b, scope, sum, partSum);
        sumSq = accumulate(b, scope, sumSq, partSq);
        options.onProgress?.({ done: round + 1, total: rounds });
      }
      const mean = (sum as T[]).map((t) => scope.track(b.div(t, samples)));
      const meanSq = (sumSq as T[]).map((t) => scope.track(b.div(t, samples)));
      const out = ntType === 'smoothgrad' ? mean : ntType === 'smoothgrad_sq' ? meanSq : meanSq.map((q, i) => scope.track(b.tidy(() => b.sub(q, b.square(mean[i] as T)))));
      const delta = deltas.length ? (deltas.length === 1 ? scope.release(deltas[0] as T) : scope.release(b.concat(deltas, 0))) : undefined;
      return { attributions: restoreStructure(x, scope.release(out)), delta };
    });
  }

  /** The wrapped method's options for a round of `s` copies per example (example-major). */
  private async expandOptions(
    b: Backend<T>,
    options: Record<string, unknown>,
    n: number,
    s: number,
    scope: Scope<T>,
    drawn?: { tensors: readonly T[]; rows: readonly number[] },
  ): Promise<Record<string, unknown>> {
    const perExample = (v: unknown): unknown => (b.isTensor(v) && b.shape(v).length > 0 && b.shape(v)[0] === n && n > 1 ? scope.track(repeatRows(b, v, s)) : v);
    const each = (v: unknown): unknown => (Array.isArray(v) ? v.map(perExample) : perExample(v));
    const out: Record<string, unknown> = { ...options };
    if ('target' in options) out.target = await repeatInterleaveTarget(b, options.target, n, s);
    if ('additionalForwardArgs' in options) out.additionalForwardArgs = repeatInterleaveArgs(b, normalizeArgs(options.additionalForwardArgs), s, scope);
    if (drawn) {
      const picked = drawn.tensors.map((t) => scope.track(b.gather(t, drawn.rows, 0)));
      out.baselines = picked.length === 1 && !Array.isArray(options.baselines) ? picked[0] : picked;
    } else if ('baselines' in options) out.baselines = each(options.baselines);
    if ('featureMask' in options) out.featureMask = each(options.featureMask);
    return out;
  }
}

/** Reference rows drawn for `count` expanded rows: from the call's stream, or per example from its seed. */
function drawRows(seed: number | ExampleSeeds, count: number, rows: number): number[] {
  if (typeof seed === 'number') {
    const rng = createRandom(seed);
    return Array.from({ length: count }, () => rng.int(rows));
  }
  return seed.perExample.flatMap((s) => {
    const rng = createRandom(s);
    return Array.from({ length: seed.samples }, () => rng.int(rows));
  });
}

/** The seed of a stochastic wrapped method in a round: one per round, or one per noisy copy (from its example's seed). */
function wrappedSeed(seed: number | ExampleSeeds, round: number, rowIds: readonly number[]): number | number[] {
  if (typeof seed === 'number') return seed + round + 1;
  return rowIds.map((r) => deriveSeed(seed.perExample[Math.floor(r / seed.samples)] as number, r % seed.samples));
}

function accumulate<T>(b: Backend<T>, scope: Scope<T>, total: T[] | undefined, part: T[]): T[] {
  if (!total) return part;
  const next = total.map((t, i) => scope.track(b.add(t, part[i] as T)));
  scope.free([...total, ...part]);
  return next;
}
