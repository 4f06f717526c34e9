/**
 * @packageDocumentation
 * The `attribution` command line: `explain`, `explain-dataset`, `inspect` and `demo` over ONNX models.
 * {@link main} runs it programmatically.
 */
export { main, program, type Io } from './cli.js';
export { parseOptions, parseTarget, readLabels, readTensor } from './read.js';
export { SEED, seedModel } from './seed.js';
export { summarize } from './summary.js';
export { explainDataset, type DatasetFlags } from './dataset.js';
export { parseShard, SHARD_VARIABLES, type Shard } from './shard.js';
export { checkBatch, readDatasetRun, verifyFolder, type ArrayFile, type BatchRecord, type BatchState, type Manifest, type VerifyReport } from './results.js';
export { OUTPUT_FORMATS, OutputError, OutputFormatError, checkOutputFile, checkOutputFolder, checkOutputFormat, writeAtomic } from './output.js';
export { openSource, type ExampleSource, type SourceOptions } from './stack.js';
export { DEFAULT_LIMITS, LimitError, parseLimits, type LimitName, type Limits } from './limits.js';
