/**
 * The method names of the commands whose modules the CLI loads only when they run (their packages take time to
 * import: the tokenizers of @attribution/text, robust, concept, influence), for the help texts.
 */

/** `attribution attack --method`. */
export const ATTACK_METHODS = ['fgsm', 'pgd', 'compare', 'min-param'] as const;

/** `attribution influence --method`. */
export const INFLUENCE_METHODS = ['similarity', 'tracin-cp', 'tracin-cp-fast', 'tracin-cp-fast-rand-proj', 'naive-influence-function'] as const;

/** `attribution explain-text --method` (text.ts's TEXT_METHODS holds the methods; a test keeps the two equal). */
export const TEXT_METHOD_NAMES = ['feature-ablation', 'shapley-values', 'shapley-value-sampling', 'kernel-shap', 'lime', 'layer-integrated-gradients'] as const;
