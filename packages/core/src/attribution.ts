import { ArgumentError, describeValue, type Backend, type Model } from '@attribution/tensor';

/** Checks that `model` implements the {@link Model} contract (an adapter's result, e.g. `fromTfjs(net)`). */
export function checkModel<T>(model: unknown): Model<T> {
  const m = model as Partial<Model<T>> | undefined;
  if (!m || typeof m.forward !== 'function' || typeof m.gradient !== 'function' || !m.backend) {
    throw new ArgumentError(
      'model',
      'a model from a backend adapter (e.g. fromTfjs(net) or await fromOnnx(ort, file))',
      describeValue(model),
    );
  }
  return m as Model<T>;
}

/**
 * The root of every attribution algorithm: it holds the model and its backend. Subclasses implement
 * `attribute` and declare whether their result is multiplied by the inputs.
 */
export abstract class Attribution<T> {
  /** The model being explained. */
  readonly model: Model<T>;
  /** The model's backend. */
  readonly backend: Backend<T>;

  constructor(model: Model<T>) {
    this.model = checkModel<T>(model);
    this.backend = this.model.backend;
  }

  /** Whether attributions are multiplied by `(input − baseline)` ("global" attribution, as in Captum). */
  abstract get multipliesByInputs(): boolean;

  /** Whether the method draws random numbers (and so takes a `seed` option). */
  get stochastic(): boolean {
    return false;
  }

  /** Display name, e.g. "Integrated Gradients". */
  getName(): string {
    return this.constructor.name.replace(/(?<!^)([A-Z])/g, ' $1');
  }
}
