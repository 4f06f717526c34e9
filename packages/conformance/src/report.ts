import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadCases } from './fixtures.js';
import { formatReport } from './harness.js';
import { TfjsModels, runTfjsCase } from './tfjs-backend.js';

/** Prints the conformance report for each tfjs backend given on the command line (default: cpu). */
async function main(): Promise<void> {
  const backends = process.argv.slice(2).length ? process.argv.slice(2) : ['cpu'];
  for (const name of backends) {
    await tf.setBackend(name);
    await tf.ready();
    const models = new TfjsModels();
    const results = [];
    for (const c of loadCases()) results.push(await runTfjsCase(c, models));
    models.dispose();
    console.log(formatReport(`tfjs-${name}`, results));
  }
}

await main();
