/**
 * @packageDocumentation
 * The `attribution` command line: `explain`, `explain-dataset`, `inspect` and `demo` over ONNX models.
 * {@link main} runs it programmatically.
 */
export { main, program, type Io } from './cli.js';
export { parseOptions, parseTarget, readTensor } from './read.js';
export { SEED, seedModel } from './seed.js';
export { summarize } from './summary.js';
export { explainDataset, parseShard, readDatasetRun, type BatchRecord, type DatasetFlags } from './dataset.js';
export { openSource, type ExampleSource } from './stack.js';
