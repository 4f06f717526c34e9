import { InvalidModelError } from '../errors.js';
import { Graph } from '../graph.js';
import type { GradContext, GradientRule } from './types.js';

/** The `blocksize` attribute of a DepthToSpace/SpaceToDepth node, checked. */
export function blockSize(c: GradContext): number {
  const b = c.attrInt('blocksize', 0);
  if (!Number.isSafeInteger(b) || b < 1) throw new InvalidModelError(`Node '${Graph.label(c.node)}' (${c.node.opType}) has an invalid blocksize ${b}.`);
  return b;
}

/**
 * y = spaceToDepth(x): a permutation of the elements, whose inverse is DepthToSpace in DCR mode, so
 * dx = depthToSpace(dy, DCR).
 */
export const spaceToDepthGrad: GradientRule = {
  inputs: [0],
  backward: (c) => [c.e.op('DepthToSpace', [c.dy() as string], { blocksize: blockSize(c), mode: 'DCR' })],
};
