import type { GradContext } from '../gradients/types.js';
import { base, layerRelevance } from './common.js';
import type { LrpRule } from './types.js';

/** The constant bias added to a MatMul's output, when its only consumer is such an Add. */
function biasAdd(c: GradContext): { readonly output: string; readonly bias: string } | undefined {
  const y = c.output(0);
  const consumers = c.graph.graph.node.filter((n) => n.input.includes(y));
  const add = consumers[0];
  if (consumers.length !== 1 || add?.opType !== 'Add') return undefined;
  const other = add.input[0] === y ? add.input[1] : add.input[0];
  if (!other || c.graph.constant(other) === undefined || !add.output[0]) return undefined;
  return { output: add.output[0], bias: other };
}

/**
 * MatMul as a linear layer (`x · W`, the bias in a following `Add` folded in as nn.Linear's bias, as
 * exporters write a Linear with a 3-D input); the weights must be constant.
 */
export const matMulLrp: LrpRule = {
  inputs: [0, 1],
  backward: (c, options) => {
    if (c.needs(1)) return c.unsupported('LRP needs the second operand (the weights) to be constant');
    const add = biasAdd(c);
    return [
      layerRelevance(c, options, base('MatMul'), { weight: 1 }, {
        z: add?.output,
        addBias: (z, rule) => (add && !('setBiasToZero' in rule && rule.setBiasToZero) ? c.e.add(z, add.bias) : z),
      }),
    ];
  },
};
