import { InvalidModelError } from '../errors.js';
import type { Dim } from '../graph.js';

/** A subscript token: a label letter, or `'...'` for the broadcast (ellipsis) dimensions. */
export type Token = string;
export const ELLIPSIS = '...';

/** A parsed Einsum equation: the tokens of each operand and of the output. */
export interface EinsumEquation {
  readonly inputs: Token[][];
  readonly output: Token[];
}

function tokens(term: string, what: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < term.length; ) {
    if (term.startsWith(ELLIPSIS, i)) {
      if (out.includes(ELLIPSIS)) throw new InvalidModelError(`Einsum ${what} '${term}' has more than one ellipsis.`);
      out.push(ELLIPSIS);
      i += 3;
    } else if (/[a-zA-Z]/.test(term[i] as string)) {
      out.push(term[i] as string);
      i += 1;
    } else {
      throw new InvalidModelError(`Einsum ${what} '${term}' has '${term[i]}'; subscripts are letters and '...'.`);
    }
  }
  return out;
}

/**
 * Parses an Einsum equation (`'ij,jk->ik'`, `'...ij,...jk'`, spaces ignored). The implicit output (no
 * `->`) is the ellipsis, when an operand has one, then the labels that occur once, in alphabetical order;
 * `ambiguous` is set when those labels mix upper and lower case, whose relative order runtimes disagree on.
 */
export function parseEinsum(equation: string, operands: number): EinsumEquation & { ambiguous: boolean } {
  const eq = equation.replace(/\s+/g, '');
  const arrow = eq.indexOf('->');
  const lhs = arrow >= 0 ? eq.slice(0, arrow) : eq;
  const terms = lhs.split(',');
  if (terms.length !== operands) {
    throw new InvalidModelError(`Einsum equation '${equation}' has ${terms.length} operand subscripts for ${operands} inputs.`);
  }
  const inputs = terms.map((t) => tokens(t, 'subscripts'));
  if (arrow >= 0) {
    const output = tokens(eq.slice(arrow + 2), 'output subscripts');
    const seen = new Set(inputs.flat());
    for (const t of output) if (!seen.has(t)) throw new InvalidModelError(`Einsum equation '${equation}': output label '${t}' is not in any operand.`);
    if (new Set(output).size !== output.length) throw new InvalidModelError(`Einsum equation '${equation}' repeats a label in its output.`);
    return { inputs, output, ambiguous: false };
  }
  const count = new Map<string, number>();
  for (const t of inputs.flat()) if (t !== ELLIPSIS) count.set(t, (count.get(t) ?? 0) + 1);
  const once = [...count].filter(([, n]) => n === 1).map(([t]) => t).sort();
  const ambiguous = once.some((t) => t === t.toUpperCase()) && once.some((t) => t === t.toLowerCase());
  return { inputs, output: [...(inputs.some((t) => t.includes(ELLIPSIS)) ? [ELLIPSIS] : []), ...once], ambiguous };
}

/** The dimensions of an operand that its tokens name: each label's size, and the ellipsis dims. */
export function labelDims(term: readonly Token[], shape: readonly Dim[]): { ellipsis: Dim[]; labels: Map<string, Dim> } {
  const letters = term.filter((t) => t !== ELLIPSIS).length;
  const ellRank = shape.length - letters;
  if (ellRank < 0 || (ellRank > 0 && !term.includes(ELLIPSIS))) {
    throw new InvalidModelError(`Einsum subscripts '${term.join('')}' do not match an operand of rank ${shape.length}.`);
  }
  const labels = new Map<string, Dim>();
  let ellipsis: Dim[] = [];
  let p = 0;
  for (const t of term) {
    if (t === ELLIPSIS) {
      ellipsis = shape.slice(p, p + ellRank);
      p += ellRank;
    } else {
      labels.set(t, shape[p] as Dim);
      p += 1;
    }
  }
  return { ellipsis, labels };
}
