// Setup file of the vitest projects whose package can load TensorFlow.js (vitest.shared.ts adds it, with
// ATTRIBUTION_TFJS_CORE set to that package's @tensorflow/tfjs-core). TensorFlow.js's production mode
// (`tf.enableProdMode()`: in tfjs-core 4 it only turns off tfjs's own console warnings) keeps the cpu
// backend's "Hi, looks like you are running TensorFlow.js in Node.js" banner, printed on a backend's first
// tensor in Node, out of the test output. The flag lives in tfjs's global engine, which every copy of tfjs-core
// in the process shares, so setting it here holds for the tests' own imports of tfjs.
import { pathToFileURL } from 'node:url';

const core = process.env.ATTRIBUTION_TFJS_CORE;
if (core) {
  const tf = (await import(pathToFileURL(core).href)) as { enableProdMode(): void };
  tf.enableProdMode();
}
