/**
 * @packageDocumentation
 * Concept-based interpretability (Captum's `captum.concept`): {@link Concept}s given by examples, concept
 * activation vectors ({@link CAV}) learned by a linear classifier on a layer's activations, and {@link TCAV}
 * scores that say how much a concept pushes a model's prediction, with a t-test against random concepts.
 */
export { CAV, type CAVStats } from './cav.js';
export { Concept, conceptFromNpyFolder, conceptsKey, type ConceptBatch, type ConceptDataset, type NpyFolderOptions } from './concept.js';
export { parseNpy, type NpyArray } from './npy.js';
export { incompleteBeta, scoresAcross, tDistributionTwoSided, tTest, type TTestResult } from './significance.js';
export { TCAV, type InterpretOptions, type LayerAttrMethod, type LayerAttributor, type TCAVOptions, type TCAVResult, type TCAVScores } from './tcav.js';
export { RidgeClassifier, SGDClassifier, type Classifier, type ClassifierData, type ClassifierStats } from '@attribution/core';
