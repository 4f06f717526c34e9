import { ArgumentError, describeValue, type Backend, type Model } from '@attribution/tensor';
import { checkBoolean, checkOptionNames } from './options.js';

/** Constructor options of the methods with Captum's `multiply_by_inputs` switch. */
export interface MultiplyByInputsOptions {
  /** Multiply by `(input − baseline)` (default true): false returns the multipliers alone ("local" attribution). */
  readonly multiplyByInputs?: boolean;
}

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

  private multiply = false;

  constructor(model: Model<T>) {
    this.model = checkModel<T>(model);
    this.backend = this.model.backend;
  }

  /**
   * Whether attributions are multiplied by `(input − baseline)` ("global" attribution, as in Captum): the
   * `multiplyByInputs` constructor option where a method has it, otherwise fixed by the method.
   */
  get multipliesByInputs(): boolean {
    return this.multiply;
  }

  /** For methods with the switch: reads `multiplyByInputs` from the constructor options (default true). */
  protected readMultiplyByInputs(options: MultiplyByInputsOptions): void {
    checkOptionNames(options, ['multiplyByInputs'], this.constructor.name);
    this.multiply = checkBoolean('multiplyByInputs', options.multiplyByInputs ?? true);
  }

  /** Whether the method draws random numbers (and so takes a `seed` option). */
  get stochastic(): boolean {
    return false;
  }

  /** Display name, e.g. "Integrated Gradients". */
  getName(): string {
    return this.constructor.name.replace(/(?<!^)([A-Z])/g, ' $1');
  }
}
