/**
 * @packageDocumentation
 * Training-data influence, as Captum's `captum.influence`: which training examples most affect a prediction.
 * {@link SimilarityInfluence} (similar activations), {@link TracInCP} (gradient dot products summed over training
 * checkpoints), {@link TracInCPFast} and {@link TracInCPFastRandProj} (the final layer only, optionally projected),
 * and {@link NaiveInfluenceFunction} (the inverse Hessian of the training loss). Every method runs on any backend
 * through `Model<T>`.
 */
export type { Checkpoint, CheckpointLoader, Checkpoints, Dataset, InfluenceOptions, InfluenceScores, InputBatch, KMostInfluential, LabelledBatch } from './common.js';
export { NaiveInfluenceFunction, type NaiveInfluenceFunctionOptions } from './naive-influence-function.js';
export { SimilarityInfluence, type SimilarityFunction, type SimilarityInfluenceOptions, type SimilarityQueryOptions, type SimilarityResult } from './similarity-influence.js';
export { TracInCP, type TracInCPOptions } from './tracincp.js';
export { TracInCPFast, TracInCPFastBase, type TracInCPFastOptions } from './tracincp-fast.js';
export { TracInCPFastRandProj, type TracInCPFastRandProjOptions } from './tracincp-fast-rand-proj.js';
