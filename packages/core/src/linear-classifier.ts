import { ArgumentError, createRandom, describeValue, type Random } from '@attribution/tensor';

/**
 * Training data of a {@link Classifier}: one row of features per example (all rows of equal length) and one
 * integer class label per row.
 */
export interface ClassifierData {
  /** The examples, one feature row each. */
  readonly x: readonly ArrayLike<number>[];
  /** The class label of each row (integers, e.g. concept ids). */
  readonly labels: readonly number[];
}

/** What {@link Classifier.trainAndEval} may report; `accs` is the accuracy on the held-out split. */
export interface ClassifierStats {
  readonly accs?: number;
  readonly [name: string]: unknown;
}

/**
 * A linear classifier trained on examples labelled by class (Captum's `captum.concept` `Classifier`): after
 * {@link Classifier.trainAndEval}, {@link Classifier.weights} gives one weight row per class in the order of
 * {@link Classifier.classes}. For two classes the row of the first class is the negated row of the second
 * (the single decision function split in two, as Captum's DefaultClassifier does).
 */
export interface Classifier {
  /** Trains on `data` and returns statistics (e.g. `{ accs }`), or nothing. */
  trainAndEval(data: ClassifierData): ClassifierStats | undefined | Promise<ClassifierStats | undefined>;
  /** The trained weights, classes × features. */
  weights(): number[][];
  /** The classes, in the order of the rows of {@link Classifier.weights}. */
  classes(): number[];
}

/** Options shared by the built-in classifiers. */
export interface SplitOptions {
  /** Fraction of the examples held out to measure the accuracy (Captum's `test_split_ratio`, default 0.33); 0 trains and scores on all. */
  readonly testSplitRatio?: number;
  /** Seed of the shuffle before the split (and of SGD's own shuffles); without one, every call draws differently. */
  readonly seed?: number;
}

/** Options of {@link SGDClassifier} (sklearn's `SGDClassifier` with hinge loss, L2 penalty, 'optimal' learning rate). */
export interface SGDClassifierOptions extends SplitOptions {
  /** L2 regularisation strength (default 0.01, Captum's choice). */
  readonly alpha?: number;
  /** Maximum number of epochs (default 1000). */
  readonly maxIter?: number;
  /** Stopping tolerance: stop when the epoch loss has not improved by `tol · n` for `nIterNoChange` epochs (default 1e-3). */
  readonly tol?: number;
  /** Epochs without improvement before stopping (default 5). */
  readonly nIterNoChange?: number;
  /** Whether to fit an intercept (default true). */
  readonly fitIntercept?: boolean;
}

/** Options of {@link RidgeClassifier}. */
export interface RidgeClassifierOptions extends SplitOptions {
  /** L2 regularisation strength (default 1). */
  readonly alpha?: number;
}

function checkPositive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ArgumentError(name, allowZero ? 'a finite number ≥ 0' : 'a finite number > 0', describeValue(value));
  }
  return value;
}

function checkCount(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new ArgumentError(name, 'an integer ≥ 1', describeValue(value));
  return value;
}

function checkSplit(options: SplitOptions): { ratio: number; seed: number | undefined } {
  const ratio = options.testSplitRatio ?? 0.33;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio < 1)) throw new ArgumentError('testSplitRatio', 'a number in [0, 1)', describeValue(ratio));
  if (options.seed !== undefined && (typeof options.seed !== 'number' || !Number.isFinite(options.seed))) {
    throw new ArgumentError('seed', 'a finite number', describeValue(options.seed));
  }
  return { ratio, seed: options.seed };
}

/** The data as a dense row-major Float64 matrix, validated. */
function readData(data: ClassifierData): { X: Float64Array; y: number[]; n: number; m: number } {
  if (!data || typeof data !== 'object' || !Array.isArray(data.x) || !Array.isArray(data.labels)) {
    throw new ArgumentError('data', '{ x: rows of features, labels: one integer per row }', describeValue(data));
  }
  const n = data.x.length;
  if (n === 0) throw new ArgumentError('data.x', 'at least one example', 'no rows');
  if (data.labels.length !== n) throw new ArgumentError('data.labels', `one label per row (${n})`, `${data.labels.length} labels`);
  const m = (data.x[0] as ArrayLike<number>).length;
  if (!(m > 0)) throw new ArgumentError('data.x', 'rows of at least one feature', 'empty rows');
  const X = new Float64Array(n * m);
  for (let r = 0; r < n; r++) {
    const row = data.x[r] as ArrayLike<number>;
    if (!row || row.length !== m) throw new ArgumentError(`data.x[${r}]`, `a row of ${m} features`, describeValue(row));
    for (let j = 0; j < m; j++) {
      const v = Number(row[j]);
      if (!Number.isFinite(v)) throw new ArgumentError(`data.x[${r}][${j}]`, 'a finite number', describeValue(row[j]));
      X[r * m + j] = v;
    }
  }
  const y = data.labels.map((label, r) => {
    if (!Number.isInteger(label)) throw new ArgumentError(`data.labels[${r}]`, 'an integer class label', describeValue(label));
    return label;
  });
  if (new Set(y).size < 2) throw new ArgumentError('data.labels', 'at least two distinct classes', `only class ${y[0]}`);
  return { X, y, n, m };
}

/** A random permutation of 0..n-1 (Fisher–Yates). */
function permutation(n: number, rng: Random): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [p[i], p[j]] = [p[j] as number, p[i] as number];
  }
  return p;
}

/** Base of the built-in classifiers: shuffle, train/test split (Captum's `_train_test_split`), accuracy. */
abstract class SplitClassifier implements Classifier {
  private fitted: { weights: number[][]; classes: number[] } | undefined;
  protected readonly ratio: number;
  protected readonly rng: Random;

  constructor(options: SplitOptions) {
    const { ratio, seed } = checkSplit(options);
    this.ratio = ratio;
    this.rng = createRandom(seed);
  }

  /** Fits one linear decision function per row of `targets` (±1 per example): coefficient rows and intercepts. */
  protected abstract fitBinary(X: Float64Array, n: number, m: number, targets: Float64Array): { coef: Float64Array; intercept: number };

  trainAndEval(data: ClassifierData): ClassifierStats {
    const { X, y, n, m } = readData(data);
    const order = permutation(n, this.rng);
    const testSize = Math.floor(this.ratio * n);
    const testRows = testSize > 0 ? order.slice(0, testSize) : order;
    const trainRows = order.slice(testSize);
    const trainY = trainRows.map((r) => y[r] as number);
    const classes = [...new Set(trainY)].sort((a, b) => a - b);
    if (classes.length < 2) {
      throw new ArgumentError('data.labels', 'at least two classes among the training examples', `only class ${classes[0]} after the ${this.ratio} test split of ${n} examples`, 'Give each concept more examples.');
    }
    const Xtrain = new Float64Array(trainRows.length * m);
    trainRows.forEach((r, i) => Xtrain.set(X.subarray(r * m, (r + 1) * m), i * m));
    // sklearn: one decision function for two classes (positive = the second), one per class otherwise.
    const positives = classes.length === 2 ? [classes[1] as number] : classes;
    const fits = positives.map((c) => this.fitBinary(Xtrain, trainRows.length, m, Float64Array.from(trainY, (v) => (v === c ? 1 : -1))));
    const decision = (r: number, k: number): number => {
      const { coef, intercept } = fits[k] as { coef: Float64Array; intercept: number };
      let s = intercept;
      for (let j = 0; j < m; j++) s += (coef[j] as number) * (X[r * m + j] as number);
      return s;
    };
    let correct = 0;
    for (const r of testRows) {
      let predicted: number;
      if (classes.length === 2) predicted = decision(r, 0) > 0 ? (classes[1] as number) : (classes[0] as number);
      else {
        let best = 0;
        for (let k = 1; k < classes.length; k++) if (decision(r, k) > decision(r, best)) best = k;
        predicted = classes[best] as number;
      }
      if (predicted === y[r]) correct++;
    }
    const rows = fits.map((f) => Array.from(f.coef));
    this.fitted = { weights: classes.length === 2 ? [rows[0]!.map((v) => (v === 0 ? 0 : -v)), rows[0]!] : rows, classes };
    return { accs: correct / testRows.length };
  }

  weights(): number[][] {
    if (!this.fitted) throw new ArgumentError('classifier', 'a trained classifier (call trainAndEval first)', 'an untrained one');
    return this.fitted.weights.map((r) => [...r]);
  }

  classes(): number[] {
    if (!this.fitted) throw new ArgumentError('classifier', 'a trained classifier (call trainAndEval first)', 'an untrained one');
    return [...this.fitted.classes];
  }
}

/**
 * Captum's DefaultClassifier: sklearn's `SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3)` after a random
 * train/test split (test share 0.33). The algorithm is sklearn's plain SGD, ported: hinge loss, L2 penalty
 * applied by rescaling the weights, the 'optimal' learning rate `η = 1 / (α (t₀ + t − 1))`, the examples
 * shuffled every epoch, and a stop when the epoch's summed loss has not improved by `tol · n` for 5 epochs.
 * One-vs-rest for more than two classes. Seeded by `seed` (the random stream is not NumPy's, so the weights
 * agree with sklearn's in distribution, not bit for bit).
 */
export class SGDClassifier extends SplitClassifier {
  private readonly alpha: number;
  private readonly maxIter: number;
  private readonly tol: number;
  private readonly nIterNoChange: number;
  private readonly fitIntercept: boolean;
  /** Epochs run by the last binary fit (sklearn's `n_iter_`). */
  nIter = 0;

  constructor(options: SGDClassifierOptions = {}) {
    super(options);
    this.alpha = checkPositive('alpha', options.alpha, 0.01);
    this.maxIter = checkCount('maxIter', options.maxIter, 1000);
    this.tol = options.tol === undefined ? 1e-3 : checkPositive('tol', options.tol, 1e-3, true);
    this.nIterNoChange = checkCount('nIterNoChange', options.nIterNoChange, 5);
    this.fitIntercept = options.fitIntercept ?? true;
  }

  protected fitBinary(X: Float64Array, n: number, m: number, y: Float64Array): { coef: Float64Array; intercept: number } {
    const { alpha } = this;
    const w = new Float64Array(m);
    let wscale = 1;
    let intercept = 0;
    // sklearn's 'optimal' schedule (Bottou): t₀ from a typical weight 1/√√α; for hinge dloss(−typw, 1) = −1.
    const typw = Math.sqrt(1 / Math.sqrt(alpha));
    const eta0 = typw / Math.max(1, 1);
    const optimalInit = 1 / (eta0 * alpha);
    let t = 1;
    let bestLoss = Infinity;
    let noImprovement = 0;
    const order = Array.from({ length: n }, (_, i) => i);
    let epoch = 0;
    for (; epoch < this.maxIter; epoch++) {
      for (let i = n - 1; i > 0; i--) {
        const j = this.rng.int(i + 1);
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      let sumLoss = 0;
      for (const r of order) {
        const eta = 1 / (alpha * (optimalInit + t - 1));
        let dot = 0;
        for (let j = 0; j < m; j++) dot += (w[j] as number) * (X[r * m + j] as number);
        const p = dot * wscale + intercept;
        const yr = y[r] as number;
        const z = p * yr;
        sumLoss += Math.max(0, 1 - z);
        const dloss = z <= 1 ? -yr : 0;
        const update = -eta * dloss;
        wscale *= Math.max(0, 1 - eta * alpha);
        // Keep the scale away from underflow (sklearn's WeightVector resets it when it gets tiny).
        if (wscale < 1e-9) {
          for (let j = 0; j < m; j++) w[j] = (w[j] as number) * wscale;
          wscale = 1;
        }
        if (update !== 0) {
          const u = update / wscale;
          for (let j = 0; j < m; j++) w[j] = (w[j] as number) + u * (X[r * m + j] as number);
          if (this.fitIntercept) intercept += update;
        }
        t++;
      }
      if (this.tol > -Infinity) {
        if (sumLoss > bestLoss - this.tol * n) noImprovement++;
        else noImprovement = 0;
        if (sumLoss < bestLoss) bestLoss = sumLoss;
        if (noImprovement >= this.nIterNoChange) {
          epoch++;
          break;
        }
      }
    }
    this.nIter = epoch;
    const coef = Float64Array.from(w, (v) => v * wscale);
    return { coef, intercept };
  }
}

/** Solves the symmetric positive-definite system `A x = b` (n × n, row-major) by Cholesky. */
function solveSpd(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (L[i * n + k] as number) * (L[j * n + k] as number);
      if (i === j) L[i * n + i] = Math.sqrt(Math.max(s, 1e-300));
      else L[i * n + j] = s / (L[j * n + j] as number);
    }
  }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (L[i * n + k] as number) * (z[k] as number);
    z[i] = s / (L[i * n + i] as number);
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i] as number;
    for (let k = i + 1; k < n; k++) s -= (L[k * n + i] as number) * (x[k] as number);
    x[i] = s / (L[i * n + i] as number);
  }
  return x;
}

/**
 * A deterministic alternative: ridge regression on ±1 targets (sklearn's `RidgeClassifier`, closed form),
 * `w = (X̃ᵀX̃ + αI)⁻¹ X̃ᵀỹ` on centred data, intercept `ȳ − x̄·w`. Given the same split it gives the same
 * weights everywhere (up to rounding), which makes TCAV scores reproducible across implementations.
 */
export class RidgeClassifier extends SplitClassifier {
  private readonly alpha: number;

  constructor(options: RidgeClassifierOptions = {}) {
    super(options);
    this.alpha = checkPositive('alpha', options.alpha, 1);
  }

  protected fitBinary(X: Float64Array, n: number, m: number, y: Float64Array): { coef: Float64Array; intercept: number } {
    const xMean = new Float64Array(m);
    let yMean = 0;
    for (let r = 0; r < n; r++) {
      yMean += y[r] as number;
      for (let j = 0; j < m; j++) xMean[j] = (xMean[j] as number) + (X[r * m + j] as number);
    }
    yMean /= n;
    for (let j = 0; j < m; j++) xMean[j] = (xMean[j] as number) / n;
    const coef = n < m ? this.dual(X, n, m, y, xMean, yMean) : this.primal(X, n, m, y, xMean, yMean);
    let intercept = yMean;
    for (let j = 0; j < m; j++) intercept -= (xMean[j] as number) * (coef[j] as number);
    return { coef, intercept };
  }

  /** Fewer examples than features: `w = X̃ᵀ (X̃X̃ᵀ + αI)⁻¹ ỹ` (n × n system). */
  private dual(X: Float64Array, n: number, m: number, y: Float64Array, xMean: Float64Array, yMean: number): Float64Array {
    const Xc = new Float64Array(n * m);
    for (let r = 0; r < n; r++) for (let j = 0; j < m; j++) Xc[r * m + j] = (X[r * m + j] as number) - (xMean[j] as number);
    const K = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k <= i; k++) {
        let s = 0;
        for (let j = 0; j < m; j++) s += (Xc[i * m + j] as number) * (Xc[k * m + j] as number);
        K[i * n + k] = s;
        K[k * n + i] = s;
      }
      K[i * n + i] = (K[i * n + i] as number) + this.alpha;
    }
    const a = solveSpd(K, Float64Array.from(y, (v) => v - yMean), n);
    const coef = new Float64Array(m);
    for (let r = 0; r < n; r++) for (let j = 0; j < m; j++) coef[j] = (coef[j] as number) + (a[r] as number) * (Xc[r * m + j] as number);
    return coef;
  }

  /** `w = (X̃ᵀX̃ + αI)⁻¹ X̃ᵀỹ` (m × m system). */
  private primal(X: Float64Array, n: number, m: number, y: Float64Array, xMean: Float64Array, yMean: number): Float64Array {
    const A = new Float64Array(m * m);
    const b = new Float64Array(m);
    const row = new Float64Array(m);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < m; j++) row[j] = (X[r * m + j] as number) - (xMean[j] as number);
      const yc = (y[r] as number) - yMean;
      for (let i = 0; i < m; i++) {
        const ri = row[i] as number;
        b[i] = (b[i] as number) + ri * yc;
        if (ri === 0) continue;
        for (let j = 0; j <= i; j++) A[i * m + j] = (A[i * m + j] as number) + ri * (row[j] as number);
      }
    }
    for (let i = 0; i < m; i++) {
      A[i * m + i] = (A[i * m + i] as number) + this.alpha;
      for (let j = 0; j < i; j++) A[j * m + i] = A[i * m + j] as number;
    }
    return solveSpd(A, b, m);
  }
}
