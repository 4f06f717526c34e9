import { BackendError } from '@attribution/tensor';

/**
 * Bounds on what the gradient builder will create, so that a hostile or accidental model cannot make it
 * exhaust memory. Each exceeded limit is a `BackendError` that names it and how to raise it.
 */
export interface BuildLimits {
  /** The most nodes a rewritten model may have (default 2,000,000). */
  readonly maxNodes?: number;
  /** The most elements of one constant the builder writes (flipped kernels, interpolation maps; default 2²⁶). */
  readonly maxConstantElements?: number;
}

export const DEFAULT_LIMITS: Required<BuildLimits> = { maxNodes: 2_000_000, maxConstantElements: 2 ** 26 };

/** The command line's name of each limit (`attribution explain --limit gradient-nodes=…`). */
const FLAGS: Record<keyof BuildLimits, string> = { maxNodes: 'gradient-nodes', maxConstantElements: 'gradient-constant' };

/** Throws when `value` exceeds the limit `name`. */
export function checkLimit(name: keyof BuildLimits, value: number, limits: BuildLimits | undefined, what: string): void {
  const limit = limits?.[name] ?? DEFAULT_LIMITS[name];
  if (value > limit) {
    throw new BackendError(
      `${what} (${value.toLocaleString('en-US')}) exceeds the limit ${name} = ${limit.toLocaleString('en-US')}; raise it with fromOnnx(ort, model, { limits: { ${name}: … } }) ` +
        `(transformModel takes the same limits option; on the command line, --limit ${FLAGS[name]}=${value}).`,
    );
  }
}
