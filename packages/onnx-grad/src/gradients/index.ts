import { absGrad } from './Abs_grad.js';
import { acosGrad } from './Acos_grad.js';
import { acoshGrad } from './Acosh_grad.js';
import { addGrad } from './Add_grad.js';
import { asinGrad } from './Asin_grad.js';
import { asinhGrad } from './Asinh_grad.js';
import { atanGrad } from './Atan_grad.js';
import { atanhGrad } from './Atanh_grad.js';
import { attentionGrad } from './Attention_grad.js';
import { averagePoolGrad } from './AveragePool_grad.js';
import { batchNormalizationGrad } from './BatchNormalization_grad.js';
import { biasAddGrad } from './BiasAdd_grad.js';
import { biasGeluGrad } from './BiasGelu_grad.js';
import { castGrad } from './Cast_grad.js';
import { celuGrad } from './Celu_grad.js';
import { clipGrad } from './Clip_grad.js';
import { concatGrad } from './Concat_grad.js';
import { convGrad } from './Conv_grad.js';
import { convTransposeGrad } from './ConvTranspose_grad.js';
import { cosGrad } from './Cos_grad.js';
import { coshGrad } from './Cosh_grad.js';
import { cumSumGrad } from './CumSum_grad.js';
import { dequantizeLinearGrad } from './DequantizeLinear_grad.js';
import { deconvolutionRelu, guidedRelu, rescaled, rescaledMaxPool, rescaledSoftmax } from './deeplift.js';
import { depthToSpaceGrad } from './DepthToSpace_grad.js';
import { divGrad } from './Div_grad.js';
import { eluGrad } from './Elu_grad.js';
import { einsumGrad } from './Einsum_grad.js';
import { erfGrad } from './Erf_grad.js';
import { expGrad } from './Exp_grad.js';
import { expandGrad } from './Expand_grad.js';
import { fastGeluGrad } from './FastGelu_grad.js';
import { gatherGrad } from './Gather_grad.js';
import { gatherElementsGrad } from './GatherElements_grad.js';
import { gatherNDGrad } from './GatherND_grad.js';
import { geluGrad } from './Gelu_grad.js';
import { gemmGrad } from './Gemm_grad.js';
import { globalAveragePoolGrad } from './GlobalAveragePool_grad.js';
import { globalLpPoolGrad } from './GlobalLpPool_grad.js';
import { globalMaxPoolGrad } from './GlobalMaxPool_grad.js';
import { groupQueryAttentionGrad } from './GroupQueryAttention_grad.js';
import { groupNormalizationGrad } from './GroupNormalization_grad.js';
import { hardSigmoidGrad } from './HardSigmoid_grad.js';
import { hardSwishGrad } from './HardSwish_grad.js';
import { identityGrad } from './Identity_grad.js';
import { instanceNormalizationGrad } from './InstanceNormalization_grad.js';
import { layerNormalizationGrad } from './LayerNormalization_grad.js';
import { leakyReluGrad } from './LeakyRelu_grad.js';
import { logGrad } from './Log_grad.js';
import { logSoftmaxGrad } from './LogSoftmax_grad.js';
import { lpNormalizationGrad } from './LpNormalization_grad.js';
import { lpPoolGrad } from './LpPool_grad.js';
import { lrnGrad } from './LRN_grad.js';
import { matMulGrad } from './MatMul_grad.js';
import { maxGrad } from './Max_grad.js';
import { maxPoolGrad } from './MaxPool_grad.js';
import { meanGrad } from './Mean_grad.js';
import { meanVarianceNormalizationGrad } from './MeanVarianceNormalization_grad.js';
import { minGrad } from './Min_grad.js';
import { mishGrad } from './Mish_grad.js';
import { modGrad } from './Mod_grad.js';
import { mulGrad } from './Mul_grad.js';
import { multiHeadAttentionGrad } from './MultiHeadAttention_grad.js';
import { padGrad } from './Pad_grad.js';
import { negGrad } from './Neg_grad.js';
import { powGrad } from './Pow_grad.js';
import { preluGrad } from './PRelu_grad.js';
import { quickGeluGrad } from './QuickGelu_grad.js';
import { reciprocalGrad } from './Reciprocal_grad.js';
import { reduceL1Grad } from './ReduceL1_grad.js';
import { reduceL2Grad } from './ReduceL2_grad.js';
import { reduceLogSumExpGrad } from './ReduceLogSumExp_grad.js';
import { reduceMaxGrad } from './ReduceMax_grad.js';
import { quantizeLinearGrad } from './QuantizeLinear_grad.js';
import { reduceMeanGrad } from './ReduceMean_grad.js';
import { reduceMinGrad } from './ReduceMin_grad.js';
import { reduceProdGrad } from './ReduceProd_grad.js';
import { reduceSumGrad } from './ReduceSum_grad.js';
import { reduceSumSquareGrad } from './ReduceSumSquare_grad.js';
import { reluGrad } from './Relu_grad.js';
import { reshapeGrad } from './Reshape_grad.js';
import { rotaryEmbeddingGrad } from './RotaryEmbedding_grad.js';
import { resizeGrad } from './Resize_grad.js';
import { scatterElementsGrad } from './ScatterElements_grad.js';
import { scatterNDGrad } from './ScatterND_grad.js';
import { seluGrad } from './Selu_grad.js';
import { shrinkGrad } from './Shrink_grad.js';
import { sigmoidGrad } from './Sigmoid_grad.js';
import { simplifiedLayerNormalizationGrad } from './SimplifiedLayerNormalization_grad.js';
import { sinGrad } from './Sin_grad.js';
import { sinhGrad } from './Sinh_grad.js';
import { skipLayerNormalizationGrad } from './SkipLayerNormalization_grad.js';
import { skipSimplifiedLayerNormalizationGrad } from './SkipSimplifiedLayerNormalization_grad.js';
import { sliceGrad } from './Slice_grad.js';
import { softmaxGrad } from './Softmax_grad.js';
import { softplusGrad } from './Softplus_grad.js';
import { softsignGrad } from './Softsign_grad.js';
import { spaceToDepthGrad } from './SpaceToDepth_grad.js';
import { splitGrad } from './Split_grad.js';
import { sqrtGrad } from './Sqrt_grad.js';
import { subGrad } from './Sub_grad.js';
import { sumGrad } from './Sum_grad.js';
import { tanGrad } from './Tan_grad.js';
import { tanhGrad } from './Tanh_grad.js';
import { thresholdedReluGrad } from './ThresholdedRelu_grad.js';
import { tileGrad } from './Tile_grad.js';
import { topKGrad } from './TopK_grad.js';
import { transposeGrad } from './Transpose_grad.js';
import { triluGrad } from './Trilu_grad.js';
import type { GradientRule } from './types.js';
import { upsampleGrad } from './Upsample_grad.js';
import { whereGrad } from './Where_grad.js';
import { independentGrad, zeroGrad } from './zero.js';

export type { GradContext, GradientRule } from './types.js';

const registry = new Map<string, GradientRule>(
  Object.entries({
    Abs: absGrad,
    Acos: acosGrad,
    Acosh: acoshGrad,
    Add: addGrad,
    Asin: asinGrad,
    Asinh: asinhGrad,
    Atan: atanGrad,
    Atanh: atanhGrad,
    AveragePool: averagePoolGrad,
    BatchNormalization: batchNormalizationGrad,
    Cast: castGrad,
    CastLike: castGrad,
    Celu: celuGrad,
    Clip: clipGrad,
    Concat: concatGrad,
    Conv: convGrad,
    ConvTranspose: convTransposeGrad,
    Cos: cosGrad,
    Cosh: coshGrad,
    CumSum: cumSumGrad,
    DequantizeLinear: dequantizeLinearGrad,
    DepthToSpace: depthToSpaceGrad,
    Div: divGrad,
    Elu: eluGrad,
    Dropout: identityGrad,
    Einsum: einsumGrad,
    Erf: erfGrad,
    Exp: expGrad,
    Expand: expandGrad,
    Flatten: reshapeGrad,
    Gather: gatherGrad,
    GatherElements: gatherElementsGrad,
    GatherND: gatherNDGrad,
    Gelu: geluGrad,
    Gemm: gemmGrad,
    GlobalAveragePool: globalAveragePoolGrad,
    GlobalLpPool: globalLpPoolGrad,
    GlobalMaxPool: globalMaxPoolGrad,
    GroupNormalization: groupNormalizationGrad,
    HardSigmoid: hardSigmoidGrad,
    HardSwish: hardSwishGrad,
    Identity: identityGrad,
    InstanceNormalization: instanceNormalizationGrad,
    LayerNormalization: layerNormalizationGrad,
    LeakyRelu: leakyReluGrad,
    Log: logGrad,
    LogSoftmax: logSoftmaxGrad,
    LpNormalization: lpNormalizationGrad,
    LpPool: lpPoolGrad,
    LRN: lrnGrad,
    MatMul: matMulGrad,
    Max: maxGrad,
    MaxPool: maxPoolGrad,
    Mean: meanGrad,
    MeanVarianceNormalization: meanVarianceNormalizationGrad,
    Min: minGrad,
    Mish: mishGrad,
    Mod: modGrad,
    Mul: mulGrad,
    Pad: padGrad,
    Neg: negGrad,
    Pow: powGrad,
    PRelu: preluGrad,
    Reciprocal: reciprocalGrad,
    ReduceL1: reduceL1Grad,
    ReduceL2: reduceL2Grad,
    ReduceLogSumExp: reduceLogSumExpGrad,
    ReduceMax: reduceMaxGrad,
    QuantizeLinear: quantizeLinearGrad,
    ReduceMean: reduceMeanGrad,
    ReduceMin: reduceMinGrad,
    ReduceProd: reduceProdGrad,
    ReduceSum: reduceSumGrad,
    ReduceSumSquare: reduceSumSquareGrad,
    Relu: reluGrad,
    Reshape: reshapeGrad,
    Resize: resizeGrad,
    ScatterElements: scatterElementsGrad,
    ScatterND: scatterNDGrad,
    Selu: seluGrad,
    Shrink: shrinkGrad,
    Sigmoid: sigmoidGrad,
    // ONNX Runtime's RMSNorm, registered in the default domain (version 1) rather than com.microsoft.
    SimplifiedLayerNormalization: simplifiedLayerNormalizationGrad,
    Sin: sinGrad,
    Sinh: sinhGrad,
    Slice: sliceGrad,
    Softmax: softmaxGrad,
    Softplus: softplusGrad,
    Softsign: softsignGrad,
    SpaceToDepth: spaceToDepthGrad,
    Split: splitGrad,
    Sqrt: sqrtGrad,
    Squeeze: reshapeGrad,
    Sub: subGrad,
    Sum: sumGrad,
    Tan: tanGrad,
    Tanh: tanhGrad,
    ThresholdedRelu: thresholdedReluGrad,
    Tile: tileGrad,
    TopK: topKGrad,
    Transpose: transposeGrad,
    Trilu: triluGrad,
    Unsqueeze: reshapeGrad,
    Upsample: upsampleGrad,
    Where: whereGrad,
    // com.microsoft contrib operators that transformers/Optimum exports emit (ONNX Runtime runs them).
    'com.microsoft.Attention': attentionGrad,
    'com.microsoft.BiasAdd': biasAddGrad,
    'com.microsoft.BiasGelu': biasGeluGrad,
    'com.microsoft.FastGelu': fastGeluGrad,
    'com.microsoft.Gelu': geluGrad,
    'com.microsoft.GroupQueryAttention': groupQueryAttentionGrad,
    'com.microsoft.MultiHeadAttention': multiHeadAttentionGrad,
    'com.microsoft.QuickGelu': quickGeluGrad,
    'com.microsoft.RotaryEmbedding': rotaryEmbeddingGrad,
    'com.microsoft.SkipLayerNormalization': skipLayerNormalizationGrad,
    'com.microsoft.SkipSimplifiedLayerNormalization': skipSimplifiedLayerNormalizationGrad,
    // Piecewise constant: no gradient flows.
    Floor: zeroGrad,
    Ceil: zeroGrad,
    Round: zeroGrad,
    Sign: zeroGrad,
    Hardmax: zeroGrad,
    // Random draws compared with the input probabilities: piecewise constant in them.
    Bernoulli: zeroGrad,
    // Values independent of the input's values (its shape and type only, and random draws).
    EyeLike: independentGrad,
    RandomNormalLike: independentGrad,
    RandomUniformLike: independentGrad,
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
