import type { LossFunction } from '@attribution/core';

/**
 * Losses the command line names besides the built-in ones of `@attribution/core` (`neg-log`, `cross-entropy`,
 * `mse`), which a JSON option cannot give as functions:
 * - `neg-output`: −output[label], the class score itself (Captum's `NLLLoss` on the raw outputs). Its gradient
 *   does not vanish when a model is sure of a class, as cross-entropy's does on saturated logits.
 */
const NAMED: Readonly<Record<string, LossFunction>> = {
  'neg-output': {
    loss: (row: readonly number[], label: unknown) => -(row[label as number] as number),
    gradient: (row: readonly number[], label: unknown) => row.map((_, j) => (j === label ? -1 : 0)),
  } as LossFunction,
};

/** `--options` with `lossFunc` / `testLossFunc` names of {@link NAMED} replaced by their functions. */
export function withCliLosses(options: Record<string, unknown>): Record<string, unknown> {
  const out = { ...options };
  for (const key of ['lossFunc', 'testLossFunc']) {
    const name = out[key];
    if (typeof name === 'string' && name in NAMED) out[key] = NAMED[name];
  }
  return out;
}
