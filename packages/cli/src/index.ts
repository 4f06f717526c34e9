/**
 * @packageDocumentation
 * The `attribution` command line: `explain`, `inspect` and `demo` over ONNX models. {@link main} runs it
 * programmatically.
 */
export { main, program, type Io } from './cli.js';
export { parseOptions, parseTarget, readTensor } from './read.js';
export { SEED, seedModel } from './seed.js';
export { summarize } from './summary.js';
