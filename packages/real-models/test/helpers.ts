import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { expect } from 'vitest';

/** Switches tfjs to `backend` (wasm: XNNPACK with SIMD, no threads in Node; its .wasm is read from node_modules). */
export async function useBackend(backend: 'wasm' | 'cpu'): Promise<void> {
  expect(await tf.setBackend(backend)).toBe(true);
  await tf.ready();
}

/** Prints the timings of one test file on one line per entry (milliseconds), for the suite's time budget. */
export function printTimings(title: string, log: ReadonlyMap<string, number>): void {
  console.log(`${title} timings (ms): ${[...log].map(([k, v]) => `${k} ${v}`).join(', ')}`);
}

/** Σ of a flat array in float64. */
export function total(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] as number;
  return s;
}
