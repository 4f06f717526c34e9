import type { Dim } from '../graph.js';
import { broadcast } from '../shapes.js';
import { ELLIPSIS, labelDims, parseEinsum, type EinsumEquation, type Token } from './einsum-equation.js';
import type { GradContext, GradientRule } from './types.js';

/**
 * y = einsum(equation, x₀, x₁, …): the gradient of operand i is the einsum of dy with the other operands
 * whose output is the labels of xᵢ, `dxᵢ = einsum('<out>,<others>->[...]<labels of xᵢ>', dy, …)`;
 * broadcast dimensions (ellipsis dims, and labels of size 1 against larger ones) are summed back to xᵢ's
 * size, and labels that occur only in xᵢ (summed out in the forward pass) are broadcast back with Expand.
 * A label repeated within the differentiated operand (a diagonal such as 'ii->i') is refused.
 */
export const einsumGrad: GradientRule = {
  inputs: (node) => node.input.map((_, i) => i),
  backward: (c) => {
    const equation = c.attrString('equation', '');
    const n = c.node.input.length;
    const eq = parseEinsum(equation, n);
    if (eq.ambiguous) return c.unsupported(`implicit output with both upper- and lower-case labels ('${equation}': their order differs between runtimes)`);
    return c.node.input.map((_, i) => (c.needs(i) ? operandGrad(c, eq, i) : undefined));
  },
};

function operandGrad(c: GradContext, eq: EinsumEquation, i: number): string {
  const { e } = c;
  const fresh = (): string => c.graph.fresh();
  const term = eq.inputs[i] as Token[];
  const x = c.input(i);
  const letters = term.filter((t) => t !== ELLIPSIS);
  if (new Set(letters).size !== letters.length) return c.unsupported(`a label repeated within operand ${i} ('${term.join('')}', a diagonal)`);
  const shapes = c.node.input.map((name) => {
    const s = c.shape(name);
    if (!s) return c.unsupported(`the rank of operand '${name}' is unknown`);
    return s;
  });
  const dims = eq.inputs.map((t, j) => labelDims(t, shapes[j] as Dim[]));
  const others = eq.inputs.map((_, j) => j).filter((j) => j !== i);
  const outHasEll = eq.output.includes(ELLIPSIS);
  const allEll = dims.filter((_, j) => eq.inputs[j]?.includes(ELLIPSIS)).map((d) => d.ellipsis);
  // Sizes in the gradient einsum: over dy (whose sizes broadcast those of every operand) and the others.
  const gEll = broadcast([...(outHasEll ? allEll : []), ...others.filter((j) => eq.inputs[j]?.includes(ELLIPSIS)).map((j) => dims[j]?.ellipsis as Dim[])], fresh) ?? [];
  const present = new Set([...eq.output, ...others.flatMap((j) => eq.inputs[j] as Token[])]);
  const kept = letters.filter((t) => present.has(t));
  const missing = letters.filter((t) => !present.has(t));
  const sizeOf = (t: string): Dim => {
    const from = eq.output.includes(t) ? dims.map((d) => d.labels.get(t)) : others.map((j) => dims[j]?.labels.get(t));
    return broadcast(from.filter((d): d is Dim => d !== undefined).map((d) => [d]), fresh)?.[0] ?? fresh();
  };
  const hasEll = outHasEll || others.some((j) => eq.inputs[j]?.includes(ELLIPSIS));
  const gradEq = `${[eq.output, ...others.map((j) => eq.inputs[j] as Token[])].map((t) => t.join('')).join(',')}->${hasEll ? ELLIPSIS : ''}${kept.join('')}`;
  let g = e.op('Einsum', [c.dy() as string, ...others.map((j) => c.input(j))], { equation: gradEq });
  let gd: Dim[] = [...(hasEll ? gEll : []), ...kept.map(sizeOf)];

  // Ellipsis dims: sum away extra leading ones, add missing leading ones (Expand fills them).
  const ellRank = dims[i]?.ellipsis.length ?? 0;
  const gEllRank = hasEll ? gEll.length : 0;
  if (gEllRank > ellRank) {
    g = e.reduceSum(g, Array.from({ length: gEllRank - ellRank }, (_, k) => k), false);
    gd = gd.slice(gEllRank - ellRank);
  } else if (gEllRank < ellRank) {
    g = e.unsqueeze(g, Array.from({ length: ellRank - gEllRank }, (_, k) => k));
    gd = [...new Array<Dim>(ellRank - gEllRank).fill(1), ...gd];
  }
  // Position in x of each axis of g (ellipsis dims, then the kept labels).
  const ellStart = term.indexOf(ELLIPSIS) < 0 ? 0 : term.indexOf(ELLIPSIS);
  const posOf = (t: string): number => {
    const k = term.indexOf(t);
    return term.includes(ELLIPSIS) && k > ellStart ? k - 1 + ellRank : k;
  };
  const positions = [...Array.from({ length: ellRank }, (_, k) => ellStart + k), ...kept.map(posOf)];
  const xs = shapes[i] as Dim[];
  // Dimensions where x has size 1 and the gradient is larger (broadcast in the forward pass) are summed.
  const staticAxes: number[] = [];
  const dynamicAxes: number[] = [];
  let expand = missing.length > 0;
  positions.forEach((p, a) => {
    const [xd, gdd] = [xs[p], gd[a]];
    if (xd === gdd) return;
    if (gdd === 1 || (typeof xd === 'number' && xd !== 1)) {
      expand = true;
      return;
    }
    if (xd === 1) staticAxes.push(a);
    else dynamicAxes.push(a);
  });
  g = e.reduceSum(g, staticAxes, true);
  for (const a of dynamicAxes) {
    const size = e.dim(x, positions[a] as number);
    const reduced = e.reduceSum(g, [a], true);
    g = e.slice(e.op('Where', [e.op('Equal', [size, e.ints([1])]), reduced, g]), e.ints([0]), size, [a]);
  }
  // Labels only in x: size-1 axes, then x's order, then broadcast to x's shape.
  g = e.unsqueeze(g, Array.from({ length: missing.length }, (_, k) => positions.length + k));
  const order = [...positions, ...missing.map(posOf)];
  g = e.transpose(g, xs.map((_, p) => order.indexOf(p)));
  return expand ? e.op('Expand', [g, e.shape(x)]) : g;
}
