import { SGDClassifier, checkOptionNames, type Classifier, type Target } from '@attribution/core';
import { LayerActivation, LayerGradientXActivation } from '@attribution/layer';
import { ArgumentError, ModelError, ShapeError, describeValue, type Backend, type LayerRef, type Model } from '@attribution/tensor';
import { CAV, type CAVStats } from './cav.js';
import { Concept, conceptBatches, conceptsKey, isTransientBatch } from './concept.js';

/** A layer attribution method as TCAV uses it: attributes the inputs' predictions to one layer. */
export interface LayerAttributor<T> {
  attribute(inputs: T | readonly T[], options: Record<string, unknown>): Promise<{ readonly attributions: T | readonly T[] }>;
}

/**
 * Makes the layer attribution method for one layer (Captum's `layer_attr_method`, whose `layer` TCAV sets per
 * layer). Default: `new LayerGradientXActivation(model, layer, { multiplyByInputs: false })`, i.e. the
 * gradients of the target output with respect to the layer.
 */
export type LayerAttrMethod<T> = (model: Model<T>, layer: string | LayerRef) => LayerAttributor<T>;

/** Options of {@link TCAV}. */
export interface TCAVOptions<T> {
  /** Names the model in CAV files (default `default_model_id`). */
  readonly modelId?: string;
  /** The classifier that learns the CAVs (default: a new, unseeded {@link SGDClassifier}, Captum's DefaultClassifier). */
  readonly classifier?: Classifier;
  /** The layer sensitivities (default: plain layer gradients). */
  readonly layerAttrMethod?: LayerAttrMethod<T>;
  /** Where CAVs are saved and looked up (`<saveFolder>/<modelId>/…json`, Node only); without it they stay in memory. */
  readonly saveFolder?: string;
  /** Use the layers' inputs instead of their outputs, for activations and attributions alike (default false). */
  readonly attributeToLayerInput?: boolean;
  /** At most this many examples per model call when computing concept activations. */
  readonly internalBatchSize?: number;
}

/** The TCAV scores of one experimental set at one layer, one entry per concept in the set's order. */
export interface TCAVScores {
  /** Captum's `sign_count`: the share of inputs whose directional derivative along the concept's CAV is > 0. */
  readonly signCount: number[];
  /** Captum's `magnitude`: the mean over inputs of the directional derivative (Captum 0.8). */
  readonly magnitude: number[];
}

/** TCAV results: by concepts key (`0-1`), then by layer. */
export type TCAVResult = Record<string, Record<string, TCAVScores>>;

/** Options of {@link TCAV.interpret}; other options (e.g. `nSteps`) are passed to the layer attribution method. */
export interface InterpretOptions<T> {
  readonly target?: Target<T> | T;
  readonly additionalForwardArgs?: unknown;
  readonly [option: string]: unknown;
}

/** Host activations of one concept at one layer: a row per example. */
interface Activations {
  readonly rows: Float32Array[];
}

function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new ArgumentError(name, 'a non-empty string', describeValue(value));
  return value;
}

/** The values of a [N, …] tensor as N flattened rows. */
async function hostRows<T>(b: Backend<T>, t: T): Promise<Float32Array[]> {
  const shape = b.shape(t);
  const n = shape[0] ?? 1;
  const data = Float32Array.from((await b.data(t)) as ArrayLike<number>);
  const width = n === 0 ? 0 : data.length / n;
  return Array.from({ length: n }, (_, r) => data.subarray(r * width, (r + 1) * width));
}

/**
 * Testing with Concept Activation Vectors (Kim et al. 2018; Captum's `TCAV`). For each experimental set (a
 * list of concepts) and layer, a linear classifier separates the concepts' layer activations; its weight
 * rows are the CAVs. The TCAV score of a concept is then computed from the dot products of the inputs' layer
 * sensitivities (gradients of the target output with respect to the layer) with the concept's CAV.
 */
export class TCAV<T> {
  readonly model: Model<T>;
  readonly layers: readonly string[];
  readonly modelId: string;
  readonly classifier: Classifier;
  readonly saveFolder: string | undefined;
  readonly attributeToLayerInput: boolean;
  private readonly layerAttrMethod: LayerAttrMethod<T>;
  private readonly internalBatchSize: number | undefined;
  /** Every concept seen, by id. */
  readonly concepts = new Map<number, Concept<T>>();
  /** CAVs by concepts key, then layer. */
  readonly cavs: Record<string, Record<string, CAV>> = {};
  private readonly activations = new Map<string, Activations>();

  constructor(model: Model<T>, layers: string | readonly string[], options: TCAVOptions<T> = {}) {
    if (!model || typeof model !== 'object' || !model.backend) throw new ArgumentError('model', 'a Model (from fromTfjs or fromOnnx)', describeValue(model));
    checkOptionNames(options, ['modelId', 'classifier', 'layerAttrMethod', 'saveFolder', 'attributeToLayerInput', 'internalBatchSize'], 'TCAV');
    const list = typeof layers === 'string' ? [layers] : layers;
    if (!Array.isArray(list) || list.length === 0) throw new ArgumentError('layers', 'a layer name or a non-empty array of layer names', describeValue(layers));
    list.forEach((l, i) => checkString(`layers[${i}]`, l));
    if (new Set(list).size !== list.length) throw new ArgumentError('layers', 'distinct layer names', JSON.stringify(list));
    this.model = model;
    this.layers = [...list];
    this.modelId = checkString('modelId', options.modelId ?? 'default_model_id');
    if (this.modelId.includes('/')) throw new ArgumentError('modelId', "a name without '/' (it names a folder)", JSON.stringify(this.modelId));
    const c = options.classifier;
    if (c !== undefined && (typeof c !== 'object' || typeof c.trainAndEval !== 'function' || typeof c.weights !== 'function' || typeof c.classes !== 'function')) {
      throw new ArgumentError('classifier', 'a Classifier (trainAndEval, weights, classes)', describeValue(c));
    }
    this.classifier = c ?? new SGDClassifier();
    if (options.layerAttrMethod !== undefined && typeof options.layerAttrMethod !== 'function') {
      throw new ArgumentError('layerAttrMethod', 'a function (model, layer) => layer attribution method', describeValue(options.layerAttrMethod));
    }
    this.layerAttrMethod = options.layerAttrMethod ?? ((m, layer) => new LayerGradientXActivation(m, layer, { multiplyByInputs: false }));
    this.saveFolder = options.saveFolder === undefined ? undefined : checkString('saveFolder', options.saveFolder);
    if (options.attributeToLayerInput !== undefined && typeof options.attributeToLayerInput !== 'boolean') {
      throw new ArgumentError('attributeToLayerInput', 'a boolean', describeValue(options.attributeToLayerInput));
    }
    this.attributeToLayerInput = options.attributeToLayerInput ?? false;
    const ibs = options.internalBatchSize;
    if (ibs !== undefined && (!Number.isInteger(ibs) || ibs < 1)) throw new ArgumentError('internalBatchSize', 'an integer ≥ 1', describeValue(ibs));
    this.internalBatchSize = ibs;
  }

  private get backend(): Backend<T> {
    return this.model.backend;
  }

  private refOf(layer: string): LayerRef {
    return this.attributeToLayerInput ? { layer, side: 'input' } : { layer };
  }

  /**
   * Computes (and keeps, as host rows) the activations of `concept`'s examples at `layers`, one dataset
   * batch at a time: memory on the backend is bounded by the batch (and `internalBatchSize`).
   */
  async generateActivation(layers: string | readonly string[], concept: Concept<T>): Promise<void> {
    const list = typeof layers === 'string' ? [layers] : [...layers];
    if (!(concept instanceof Concept)) throw new ArgumentError('concept', 'a Concept', describeValue(concept));
    const method = new LayerActivation(this.model, list.map((l) => this.refOf(l)));
    const rows: Float32Array[][] = list.map(() => []);
    const b = this.backend;
    let index = 0;
    for await (const batch of conceptBatches(concept)) {
      const parts = Array.isArray(batch) ? (batch as readonly T[]) : [batch as T];
      for (const [i, p] of parts.entries()) {
        if (!b.isTensor(p)) throw new ArgumentError(`concept ${concept.id} ('${concept.name}') batch ${index}${parts.length > 1 ? `[${i}]` : ''}`, `a ${b.name} tensor`, describeValue(p));
      }
      try {
        const { attributions } = await method.attribute(batch as T | readonly T[], {
          attributeToLayerInput: false,
          ...(this.internalBatchSize === undefined ? {} : { internalBatchSize: this.internalBatchSize }),
        });
        const acts = attributions as T[];
        try {
          for (const [k, a] of acts.entries()) (rows[k] as Float32Array[]).push(...(await hostRows(b, a)));
        } finally {
          b.dispose(acts);
        }
      } finally {
        for (const p of parts) if (isTransientBatch(p)) b.dispose(p);
      }
      index++;
    }
    if (index === 0) throw new ArgumentError(`concept ${concept.id} ('${concept.name}')`, 'at least one batch of examples', 'an empty dataset');
    list.forEach((layer, k) => this.activations.set(this.activationKey(concept, layer), { rows: rows[k] as Float32Array[] }));
  }

  /** Computes the activations of each concept at the layers it maps to. */
  async generateActivations(conceptLayers: ReadonlyMap<Concept<T>, readonly string[]>): Promise<void> {
    for (const [concept, layers] of conceptLayers) if (layers.length > 0) await this.generateActivation(layers, concept);
  }

  /** Computes the activations of every concept seen at every layer. */
  async generateAllActivations(): Promise<void> {
    for (const concept of this.concepts.values()) await this.generateActivation(this.layers, concept);
  }

  private activationKey(concept: Concept<T>, layer: string): string {
    return `${concept.identifier}\u0000${layer}`;
  }

  private checkSets(experimentalSets: readonly (readonly Concept<T>[])[]): void {
    if (!Array.isArray(experimentalSets) || experimentalSets.length === 0) {
      throw new ArgumentError('experimentalSets', 'a non-empty array of concept lists', describeValue(experimentalSets));
    }
    const seen = new Map(this.concepts);
    for (const [i, set] of experimentalSets.entries()) {
      if (!Array.isArray(set) || set.length < 2) throw new ArgumentError(`experimentalSets[${i}]`, 'an array of at least two Concepts', describeValue(set));
      const ids = new Set<number>();
      for (const [j, c] of set.entries()) {
        if (!(c instanceof Concept)) throw new ArgumentError(`experimentalSets[${i}][${j}]`, 'a Concept', describeValue(c));
        if (ids.has(c.id)) throw new ArgumentError(`experimentalSets[${i}]`, 'distinct concepts', `concept id ${c.id} twice`);
        ids.add(c.id);
        const known = seen.get(c.id);
        if (known !== undefined && known !== c) {
          throw new ArgumentError(`experimentalSets[${i}][${j}]`, `the same Concept instance for id ${c.id}`, `a second concept with id ${c.id} ('${c.name}', first '${known.name}')`, 'Reuse one Concept object per id.');
        }
        seen.set(c.id, c);
      }
    }
  }

  /**
   * Computes the CAVs of each experimental set at each layer (Captum's `compute_cavs`): unless `forceTrain`,
   * CAVs already computed, or saved under `saveFolder`, are reused; otherwise the concepts' activations are
   * computed (once per concept and layer) and the classifier trained on them. Trained CAVs are saved when
   * `saveFolder` is set. Returns every CAV held, by concepts key and layer.
   */
  async computeCavs(experimentalSets: readonly (readonly Concept<T>[])[], options: { readonly forceTrain?: boolean } = {}): Promise<Record<string, Record<string, CAV>>> {
    checkOptionNames(options, ['forceTrain'], 'TCAV.computeCavs');
    this.checkSets(experimentalSets);
    const forceTrain = options.forceTrain ?? false;
    if (typeof forceTrain !== 'boolean') throw new ArgumentError('forceTrain', 'a boolean', describeValue(forceTrain));
    for (const set of experimentalSets) for (const c of set) this.concepts.set(c.id, c);
    if (forceTrain) for (const set of experimentalSets) for (const c of set) for (const l of this.layers) this.activations.delete(this.activationKey(c, l));
    for (const set of experimentalSets) {
      const key = conceptsKey(set);
      const held = (this.cavs[key] ??= {});
      for (const layer of this.layers) {
        if (!forceTrain) {
          if (held[layer]) continue;
          if (this.saveFolder !== undefined) {
            const loaded = await CAV.load(this.saveFolder, this.modelId, set, layer);
            if (loaded) {
              held[layer] = new CAV(set, layer, loaded.stats, this.modelId);
              continue;
            }
          }
        }
        held[layer] = await this.trainCav(set, layer);
      }
    }
    return this.cavs;
  }

  private async trainCav(concepts: readonly Concept<T>[], layer: string): Promise<CAV> {
    const x: Float32Array[] = [];
    const labels: number[] = [];
    for (const c of concepts) {
      if (!this.activations.has(this.activationKey(c, layer))) await this.generateActivation(layer, c);
      const { rows } = this.activations.get(this.activationKey(c, layer)) as Activations;
      for (const r of rows) {
        x.push(r);
        labels.push(c.id);
      }
    }
    const stats = (await this.classifier.trainAndEval({ x, labels })) ?? {};
    const weights = this.classifier.weights();
    const classes = this.classifier.classes();
    const features = x[0]?.length ?? 0;
    if (!Array.isArray(classes) || classes.length === 0) throw new ArgumentError('classifier.classes()', 'a non-empty array of class ids', describeValue(classes));
    if (!Array.isArray(weights) || weights.length !== classes.length || weights.some((w) => !w || w.length !== features)) {
      throw new ShapeError('classifier.weights()', `${classes.length} rows (one per class) of ${features} weights`, describeValue(weights));
    }
    if (weights.some((w) => Array.from(w).some((v) => !Number.isFinite(v)))) {
      throw new ArgumentError('classifier.weights()', 'finite weights', `non-finite weights for the set ${conceptsKey(concepts)} at ${layer}`);
    }
    for (const c of concepts) {
      if (!classes.includes(c.id)) throw new ArgumentError('classifier.classes()', `every concept id of the set (${conceptsKey(concepts)})`, JSON.stringify(classes));
    }
    const cavStats: CAVStats = { ...stats, weights: weights.map((w) => Array.from(w, Number)), classes: Array.from(classes, Number) };
    const cav = new CAV(concepts, layer, cavStats, this.modelId);
    if (this.saveFolder !== undefined) await cav.save(this.saveFolder);
    return cav;
  }

  /**
   * TCAV scores of `inputs` for each experimental set and layer (Captum's `interpret`): with `s_n` the layer
   * sensitivities of input n (flattened) and `v_c` the CAV of concept c, `signCount[c] = mean_n [s_n·v_c > 0]`
   * and `magnitude[c] = mean_n s_n·v_c`, in the order of the set's concepts.
   */
  async interpret(inputs: T | readonly T[], experimentalSets: readonly (readonly Concept<T>[])[], options: InterpretOptions<T> = {}): Promise<TCAVResult> {
    if (options === null || typeof options !== 'object') throw new ArgumentError('options', 'an options object', describeValue(options));
    if ('attributeToLayerInput' in options) {
      throw new ArgumentError('attributeToLayerInput', 'the TCAV constructor option (it applies to activations and attributions alike)', 'an interpret option');
    }
    await this.computeCavs(experimentalSets);
    const b = this.backend;
    const result: TCAVResult = {};
    for (const layer of this.layers) {
      const method = this.layerAttrMethod(this.model, layer);
      const attrOptions: Record<string, unknown> = { ...options };
      if (this.attributeToLayerInput) attrOptions.attributeToLayerInput = true;
      const { attributions } = await method.attribute(inputs, attrOptions);
      const parts = Array.isArray(attributions) ? (attributions as T[]) : [attributions as T];
      let rows: Float32Array[];
      try {
        const perPart = await Promise.all(parts.map((p) => hostRows(b, p)));
        rows = (perPart[0] as Float32Array[]).map((_, n) => {
          if (perPart.length === 1) return (perPart[0] as Float32Array[])[n] as Float32Array;
          const joined = new Float32Array(perPart.reduce((s, p) => s + (p[n] as Float32Array).length, 0));
          let at = 0;
          for (const p of perPart) {
            joined.set(p[n] as Float32Array, at);
            at += (p[n] as Float32Array).length;
          }
          return joined;
        });
      } finally {
        b.dispose(parts);
      }
      if (rows.some((r) => r.some((v) => !Number.isFinite(v)))) {
        throw new ModelError(`The layer sensitivities at '${layer}' contain NaN or infinite values: TCAV scores would be meaningless.`);
      }
      for (const set of experimentalSets) {
        const key = conceptsKey(set);
        const cav = this.cavs[key]?.[layer] as CAV;
        const { weights, classes } = cav.stats;
        const width = rows[0]?.length ?? 0;
        if (weights[0]?.length !== width) {
          throw new ShapeError(`CAV ${key} at ${layer}`, `${width} weights per concept (the layer's size)`, `${weights[0]?.length}`, 'The CAV was computed for another model or layer: recompute with forceTrain or another saveFolder.');
        }
        const signCount: number[] = [];
        const magnitude: number[] = [];
        for (const concept of set) {
          const w = weights[classes.indexOf(concept.id)] as number[];
          let positive = 0;
          let total = 0;
          for (const s of rows) {
            let dot = 0;
            for (let f = 0; f < width; f++) dot += (s[f] as number) * (w[f] as number);
            if (dot > 0) positive++;
            total += dot;
          }
          signCount.push(rows.length === 0 ? 0 : positive / rows.length);
          magnitude.push(rows.length === 0 ? 0 : total / rows.length);
        }
        (result[key] ??= {})[layer] = { signCount, magnitude };
      }
    }
    return result;
  }
}
