import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** The fixture model folder. */
export const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/tiny-gpt');

/** A JSON file of the fixture folder. */
export const readFixtureJson = (name: string): unknown => JSON.parse(readFileSync(join(fixtureDir, name), 'utf8'));

/**
 * The largest deviation of `got` from Captum's `want`; throws past the case's tolerance
 * (`|got − want| ≤ atol + rtol·|want|`), naming the case.
 */
export function closeToCaptum(got: readonly number[], want: readonly number[], c: { readonly id: string; readonly tolerance: { readonly atol: number; readonly rtol: number } }): number {
  expect(got.length).toBe(want.length);
  let worst = 0;
  want.forEach((w, j) => {
    const d = Math.abs((got[j] as number) - w);
    worst = Math.max(worst, d);
    if (d > c.tolerance.atol + c.tolerance.rtol * Math.abs(w)) throw new Error(`${c.id}: |${got[j]} - ${w}| = ${d} above tolerance`);
  });
  return worst;
}
