import { addGrad } from './Add_grad.js';
import { averagePoolGrad } from './AveragePool_grad.js';
import { batchNormalizationGrad } from './BatchNormalization_grad.js';
import { castGrad } from './Cast_grad.js';
import { clipGrad } from './Clip_grad.js';
import { concatGrad } from './Concat_grad.js';
import { convGrad } from './Conv_grad.js';
import { deconvolutionRelu, guidedRelu, rescaled, rescaledMaxPool, rescaledSoftmax } from './deeplift.js';
import { divGrad } from './Div_grad.js';
import { eluGrad } from './Elu_grad.js';
import { erfGrad } from './Erf_grad.js';
import { expGrad } from './Exp_grad.js';
import { expandGrad } from './Expand_grad.js';
import { gatherGrad } from './Gather_grad.js';
import { gemmGrad } from './Gemm_grad.js';
import { globalAveragePoolGrad } from './GlobalAveragePool_grad.js';
import { identityGrad } from './Identity_grad.js';
import { leakyReluGrad } from './LeakyRelu_grad.js';
import { logGrad } from './Log_grad.js';
import { logSoftmaxGrad } from './LogSoftmax_grad.js';
import { matMulGrad } from './MatMul_grad.js';
import { maxPoolGrad } from './MaxPool_grad.js';
import { mulGrad } from './Mul_grad.js';
import { negGrad } from './Neg_grad.js';
import { powGrad } from './Pow_grad.js';
import { reduceMeanGrad } from './ReduceMean_grad.js';
import { reduceSumGrad } from './ReduceSum_grad.js';
import { reluGrad } from './Relu_grad.js';
import { reshapeGrad } from './Reshape_grad.js';
import { sigmoidGrad } from './Sigmoid_grad.js';
import { sliceGrad } from './Slice_grad.js';
import { softmaxGrad } from './Softmax_grad.js';
import { softplusGrad } from './Softplus_grad.js';
import { splitGrad } from './Split_grad.js';
import { sqrtGrad } from './Sqrt_grad.js';
import { subGrad } from './Sub_grad.js';
import { tanhGrad } from './Tanh_grad.js';
import { transposeGrad } from './Transpose_grad.js';
import type { GradientRule } from './types.js';
import { whereGrad } from './Where_grad.js';
import { zeroGrad } from './zero.js';

export type { GradContext, GradientRule } from './types.js';

const registry = new Map<string, GradientRule>(
  Object.entries({
    Add: addGrad,
    AveragePool: averagePoolGrad,
    BatchNormalization: batchNormalizationGrad,
    Cast: castGrad,
    Clip: clipGrad,
    Concat: concatGrad,
    Conv: convGrad,
    Div: divGrad,
    Elu: eluGrad,
    Dropout: identityGrad,
    Erf: erfGrad,
    Exp: expGrad,
    Expand: expandGrad,
    Flatten: reshapeGrad,
    Gather: gatherGrad,
    Gemm: gemmGrad,
    GlobalAveragePool: globalAveragePoolGrad,
    Identity: identityGrad,
    LeakyRelu: leakyReluGrad,
    Log: logGrad,
    LogSoftmax: logSoftmaxGrad,
    MatMul: matMulGrad,
    MaxPool: maxPoolGrad,
    Mul: mulGrad,
    Neg: negGrad,
    Pow: powGrad,
    ReduceMean: reduceMeanGrad,
    ReduceSum: reduceSumGrad,
    Relu: reluGrad,
    Reshape: reshapeGrad,
    Sigmoid: sigmoidGrad,
    Slice: sliceGrad,
    Softmax: softmaxGrad,
    Softplus: softplusGrad,
    Split: splitGrad,
    Sqrt: sqrtGrad,
    Squeeze: reshapeGrad,
    Sub: subGrad,
    Tanh: tanhGrad,
    Transpose: transposeGrad,
    Unsqueeze: reshapeGrad,
    Where: whereGrad,
    // Piecewise constant: no gradient flows.
    Floor: zeroGrad,
    Ceil: zeroGrad,
    Round: zeroGrad,
    Sign: zeroGrad,
  }),
);

/** How nonlinearities are differentiated: ordinary gradients, or a modified backward rule. */
export type RuleSet = 'gradient' | 'deeplift' | 'guided-backprop' | 'deconvolution';

const base = (op: string): GradientRule => registry.get(op) as GradientRule;

/** Rules that replace the ordinary ones in a rule set (Captum's supported nonlinearities). */
const ruleSets: Record<Exclude<RuleSet, 'gradient'>, Map<string, GradientRule>> = {
  deeplift: new Map([
    ...['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Elu', 'Softplus'].map((op) => [op, rescaled(base(op))] as const),
    ['Softmax', rescaledSoftmax(base('Softmax'))],
    ['MaxPool', rescaledMaxPool(base('MaxPool'))],
  ]),
  'guided-backprop': new Map([['Relu', guidedRelu(base('Relu'))]]),
  deconvolution: new Map([['Relu', deconvolutionRelu]]),
};

/**
 * The registry key of an operator: its type for the default domain (`''` or `'ai.onnx'`), else
 * `domain.type` (e.g. `com.microsoft.FastGelu`).
 */
export function opKey(opType: string, domain = ''): string {
  return !domain || domain === 'ai.onnx' ? opType : `${domain}.${opType}`;
}

/** Registers (or replaces) the backward rule of an ONNX operator (of the default domain unless `domain` is given). */
export function registerGradient(opType: string, rule: GradientRule, ruleSet: RuleSet = 'gradient', domain = ''): void {
  const key = opKey(opType, domain);
  if (ruleSet === 'gradient') registry.set(key, rule);
  else ruleSets[ruleSet].set(key, rule);
}

/** The backward rule of an operator in a rule set (falling back to the ordinary rule), if any. */
export function getGradient(opType: string, ruleSet: RuleSet = 'gradient', domain = ''): GradientRule | undefined {
  const key = opKey(opType, domain);
  return (ruleSet === 'gradient' ? undefined : ruleSets[ruleSet].get(key)) ?? registry.get(key);
}

/** Operators that have backward rules (`domain.type` outside the default domain). */
export function gradientOps(): string[] {
  return [...registry.keys()].sort();
}
