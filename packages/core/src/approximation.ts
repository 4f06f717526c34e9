import { ArgumentError, closestName } from '@attribution/tensor';
import { checkInteger } from './options.js';

/** The rules for approximating a path integral; `gausslegendre` is Captum's default. */
export type ApproximationMethod =
  | 'riemann_left'
  | 'riemann_right'
  | 'riemann_middle'
  | 'riemann_trapezoid'
  | 'gausslegendre';

/** Every supported approximation rule. */
export const APPROXIMATION_METHODS: readonly ApproximationMethod[] = [
  'riemann_left',
  'riemann_right',
  'riemann_middle',
  'riemann_trapezoid',
  'gausslegendre',
];

/**
 * The most steps a path integral may take. Gauss–Legendre nodes cost O(n²) to compute (0.7 s at 10,000) and
 * every step is a row of a model call, so larger counts would hang or exhaust memory long before they
 * improve a float32 result; they are rejected up front instead.
 */
export const MAX_STEPS = 10_000;

/** Validates `nSteps`: an integer between 1 and {@link MAX_STEPS}. */
export function checkSteps(value: unknown, argument = 'nSteps'): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > MAX_STEPS) throw tooManySteps(argument, value);
  return checkInteger(argument, value, 1);
}

function tooManySteps(argument: string, n: number): ArgumentError {
  return new ArgumentError(argument, `at most ${MAX_STEPS} steps`, String(n), 'More steps do not make a float32 integral more accurate; a few hundred usually suffice.');
}

/** Step sizes `w_k` and points `α_k` of an approximation rule: `∫₀¹ f ≈ Σ_k w_k f(α_k)`. */
export interface ApproximationParameters {
  readonly stepSizes: readonly number[];
  readonly alphas: readonly number[];
}

/** Validates an approximation rule name, with a suggestion when it is misspelt. */
export function checkApproximationMethod(value: unknown, argument = 'method'): ApproximationMethod {
  if (typeof value === 'string' && (APPROXIMATION_METHODS as readonly string[]).includes(value)) {
    return value as ApproximationMethod;
  }
  const guess = typeof value === 'string' ? closestName(value, APPROXIMATION_METHODS) : undefined;
  throw new ArgumentError(
    argument,
    `one of ${APPROXIMATION_METHODS.map((m) => `'${m}'`).join(', ')}`,
    typeof value === 'string' ? `'${value}'` : String(value),
    guess ? `Did you mean '${guess}'?` : undefined,
  );
}

/**
 * Step sizes and points of `method` with `n` steps, exactly as Captum computes them: Riemann points are
 * float32 `linspace` values, trapezoid weights keep Captum's `(n-1)/n` total, Gauss–Legendre nodes ascend.
 */
export function approximationParameters(method: ApproximationMethod, n: number): ApproximationParameters {
  if (!Number.isInteger(n) || n < 1) {
    throw new ArgumentError('nSteps', 'an integer ≥ 1', String(n));
  }
  // Layer conductance evaluates nSteps + 1 points.
  if (n > MAX_STEPS + 1) throw tooManySteps('nSteps', n);
  if (method === 'gausslegendre') {
    const { nodes, weights } = gaussLegendre(n);
    return { stepSizes: weights.map((w) => 0.5 * w), alphas: nodes.map((x) => 0.5 * (1 + x)) };
  }
  if (n < 2) {
    throw new ArgumentError('nSteps', `an integer ≥ 2 for the Riemann rule '${method}'`, String(n));
  }
  const stepSizes = new Array<number>(n).fill(1 / n);
  switch (method) {
    case 'riemann_left':
      return { stepSizes, alphas: linspaceFloat32(0, 1 - 1 / n, n) };
    case 'riemann_right':
      return { stepSizes, alphas: linspaceFloat32(1 / n, 1, n) };
    case 'riemann_middle':
      return { stepSizes, alphas: linspaceFloat32(1 / (2 * n), 1 - 1 / (2 * n), n) };
    case 'riemann_trapezoid':
      stepSizes[0] = 1 / (2 * n);
      stepSizes[n - 1] = 1 / (2 * n);
      return { stepSizes, alphas: linspaceFloat32(0, 1, n) };
  }
}

/**
 * PyTorch's float32 `linspace` on the CPU, bit for bit: the first half counts up from `start`, the second
 * half down from `end`; whole runs of 16 elements are computed as 8-wide vectors that count up from their
 * first element. (Checked against torch 1.13's output for 472 (start, end, n) triples.)
 */
export function linspaceFloat32(start: number, end: number, n: number): number[] {
  const f = Math.fround;
  const s = f(start);
  const e = f(end);
  if (n === 1) return [s];
  const step = f(f(e - s) / (n - 1));
  const halfway = Math.floor(n / 2);
  const at = (k: number): number => (k < halfway ? f(s + step * k) : f(e - step * (n - 1 - k)));
  const out = new Array<number>(n);
  const vectorized = n - (n % 16);
  for (let v = 0; v < vectorized; v += 8) {
    const base = at(v);
    for (let j = 0; j < 8; j++) out[v + j] = f(base + f(j * step));
  }
  for (let k = vectorized; k < n; k++) out[k] = at(k);
  return out;
}

/** Nodes (ascending) and weights of the `n`-point Gauss–Legendre rule on [-1, 1]. */
export function gaussLegendre(n: number): { nodes: number[]; weights: number[] } {
  const nodes = new Array<number>(n);
  const weights = new Array<number>(n);
  const half = Math.floor((n + 1) / 2);
  for (let i = 0; i < half; i++) {
    // Initial guess for the i-th largest root, then Newton on P_n.
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    for (let iter = 0; iter < 100; iter++) {
      const [p, d] = legendre(n, x);
      const dx = p / d;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    const dp = legendre(n, x)[1];
    const w = 2 / ((1 - x * x) * dp * dp);
    nodes[n - 1 - i] = x;
    nodes[i] = -x;
    weights[n - 1 - i] = w;
    weights[i] = w;
  }
  if (n % 2 === 1) nodes[half - 1] = 0;
  return { nodes, weights };
}

/** `[P_n(x), P_n'(x)]` by the three-term recurrence. */
function legendre(n: number, x: number): [number, number] {
  let p0 = 1;
  let p1 = x;
  if (n === 0) return [1, 0];
  for (let k = 2; k <= n; k++) {
    const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
    p0 = p1;
    p1 = p2;
  }
  const d = (n * (x * p1 - p0)) / (x * x - 1);
  return [p1, d];
}
