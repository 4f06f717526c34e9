import os from 'node:os';
import { DEFAULT_LIMITS as BUILD_LIMITS } from '@attribution/onnx-grad';
import { ArgumentError, closestName } from '@attribution/tensor';

/**
 * Resource limits on what the CLI reads and plans, so a hostile or broken file ends in one clear error
 * instead of an allocation that aborts the process or a plan that never ends. Each is raised with
 * `--limit <name>=<value>` (repeatable); docs/security.md lists them.
 */
export interface Limits {
  /** `npy-header`: bytes of a `.npy` header (numpy writes a few hundred). */
  readonly npyHeader: number;
  /** `elements`: elements of one tensor read into memory (an input, baseline or mask; one batch of a dataset input). */
  readonly elements: number;
  /** `rows`: examples `explain-dataset` plans (the rows of a stack, summed over a folder). */
  readonly rows: number;
  /** `workers`: processes `explain-dataset --workers` may start (default: the number of CPU cores). */
  readonly workers: number;
  /** `gradient-nodes`: nodes of a gradient model the library builds from the ONNX model. */
  readonly gradientNodes: number;
  /** `gradient-constant`: elements of one constant a gradient model holds (flipped kernels, interpolation maps). */
  readonly gradientConstant: number;
}

/** The name of each limit on the command line. */
const NAMES = {
  'npy-header': 'npyHeader',
  elements: 'elements',
  rows: 'rows',
  workers: 'workers',
  'gradient-nodes': 'gradientNodes',
  'gradient-constant': 'gradientConstant',
} as const satisfies Record<string, keyof Limits>;
export type LimitName = keyof typeof NAMES;

const cores = (): number => (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length) || 1;

/**
 * The defaults: a 1 MiB `.npy` header, 100 million elements per tensor, 10 million rows, one worker per core,
 * and the gradient builder's own bounds (2 million nodes, 2²⁶ elements per constant).
 */
export const DEFAULT_LIMITS: Limits = {
  npyHeader: 1 << 20,
  elements: 100_000_000,
  rows: 10_000_000,
  workers: cores(),
  gradientNodes: BUILD_LIMITS.maxNodes,
  gradientConstant: BUILD_LIMITS.maxConstantElements,
};

const format = (n: number): string => n.toLocaleString('en-US');

/** A limit was exceeded: names the limit and how to raise it (`--limit <name>=<value>`). */
export class LimitError extends ArgumentError {
  /** The limit, as `--limit` names it, e.g. `elements`. */
  readonly limit: LimitName;
  /** Its value when it was exceeded. */
  readonly value: number;

  /**
   * @param argument the file's flag, e.g. `--input #1`
   * @param what what is limited, in words, e.g. `elements per input`
   * @param needed the value that would be enough, suggested in the message
   * @param other another way out, e.g. `Lower --batch-size`
   * @param note about the limit's value, e.g. `the number of CPU cores`
   */
  constructor(argument: string, limit: LimitName, limits: Limits, what: string, received: string, needed: number, other?: string, note?: string) {
    const value = limits[NAMES[limit]];
    const raise = `${other ? `${other}, or raise` : 'Raise'} the limit with --limit ${limit}=${needed} if this is intended.`;
    super(argument, `at most ${format(value)} ${what} (limit '${limit}'${note ? `: ${note}` : ''})`, received, raise, 'ERR_LIMIT');
    this.limit = limit;
    this.value = value;
  }
}

/** Parses the `--limit name=value` flags over the defaults. */
export function parseLimits(texts: readonly string[] | undefined, base: Limits = DEFAULT_LIMITS): Limits {
  const limits: { -readonly [K in keyof Limits]: number } = { ...base };
  for (const text of texts ?? []) {
    const m = /^\s*([a-z-]+)\s*=\s*(\d+)\s*$/.exec(text);
    const name = m?.[1];
    if (name === undefined || !(name in NAMES)) {
      const guess = name === undefined ? undefined : closestName(name, Object.keys(NAMES));
      throw new ArgumentError('--limit', `name=value with a name among ${Object.keys(NAMES).join(', ')} and a positive integer value, e.g. elements=200000000`, `'${text}'`, guess ? `Did you mean ${guess}?` : undefined);
    }
    const value = Number(m?.[2]);
    if (!Number.isSafeInteger(value) || value < 1) throw new ArgumentError('--limit', `a positive integer for ${name}`, `'${text}'`);
    limits[NAMES[name as LimitName]] = value;
  }
  return limits;
}
