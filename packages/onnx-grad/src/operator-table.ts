import { WEIGHTS_INPUT, transformModel } from './builder.js';
import { decomposedOps, getDecomposition } from './decompose/index.js';
import { UnsupportedOperatorError } from './errors.js';
import { getGradient, gradientOps, type GradientRule, type RuleSet } from './gradients/index.js';
import { independentGrad, zeroGrad } from './gradients/zero.js';
import { MICROSOFT_OPSET, ONNX_MAX_OPSET, ONNX_OPERATORS, type OnnxOperatorSpec } from './onnx-operators.js';
import { foldableOps } from './passes/fold.js';
import { DataType, decodeModel, encodeModel, makeNode, makeValueInfo, onnx, type AttributeProto, type ModelProto, type NodeProto, type ValueInfoProto } from './proto.js';

/**
 * How gradients pass an operator: a backward rule; a decomposition into operators with rules (an LSTM
 * unrolled over its time steps); a conversion, when a model of an older opset is brought to the one the
 * rules emit, into an operator with a rule; not differentiable, so cut from the backward graph (integer or
 * boolean outputs, piecewise-constant values, values independent of the input's, no floating-point input);
 * or no rule at all — the gradient model is refused when the operator lies on a differentiable path, and
 * only forward passes run it.
 */
export type GradientSupport = 'rule' | 'decomposition' | 'conversion' | 'not-differentiable' | 'forward-only';

/** One operator of the generated operator table. */
export interface OperatorRow {
  /** The registry key: the type in the default domain, else `domain.type` (`com.microsoft.FastGelu`). */
  readonly op: string;
  /** `''` for the default domain. */
  readonly domain: string;
  readonly opType: string;
  /** The operator's schema versions up to opset 21 (ONNX Runtime contrib operators: version 1). */
  readonly versions: readonly number[];
  /**
   * The versions gradient models handle: for the default domain, those in effect in some opset from
   * {@link gradientMinOpset} on (deprecations left out); empty for `forward-only` operators.
   */
  readonly gradientVersions: readonly number[];
  /** The version from which the operator is deprecated. */
  readonly deprecated?: number;
  readonly gradient: GradientSupport;
  /** Why, for `not-differentiable` (`integer output`, …) and for straight-through rules. */
  readonly reason?: string;
  /** Something the builder does with the operator besides its rule (`If`: inlined on constant conditions). */
  readonly note?: string;
  /** The DeepLift rule (`Rescale`, …), `plain gradient`, or undefined where no gradient passes. */
  readonly deeplift?: string;
  /** Guided backpropagation's rule, `plain gradient`, or undefined where no gradient passes. */
  readonly guidedBackprop?: string;
  /** Deconvolution's rule, `plain gradient`, or undefined where no gradient passes. */
  readonly deconvolution?: string;
  /** Whether constant folding evaluates the operator when its inputs are constant (shape arithmetic). */
  readonly folds: boolean;
}

/** Names of the modified rules the rule sets use (an operator not listed uses the set's generic rule). */
const MODIFIED_RULES: Record<Exclude<RuleSet, 'gradient'>, { readonly generic: string; readonly byOp: Readonly<Record<string, string>> }> = {
  deeplift: { generic: 'Rescale', byOp: { Softmax: 'Rescale, normalised (Captum’s Softmax rule)', MaxPool: 'Captum’s MaxPool rule' } },
  'guided-backprop': { generic: 'ReLU gradient clamped at 0', byOp: {} },
  deconvolution: { generic: 'ReLU of the incoming gradient', byOp: {} },
};

/** What the builder does with operators beyond their rules: passes that remove them before differentiation. */
const NOTES: Readonly<Record<string, string>> = {
  If: 'inlined when its condition folds to a constant',
};

const compareNames = (a: string, b: string): number => {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
};

/** Splits a registry key into domain and type. */
function splitKey(op: string): { domain: string; opType: string } {
  const dot = op.lastIndexOf('.');
  return dot < 0 ? { domain: '', opType: op } : { domain: op.slice(0, dot), opType: op.slice(dot + 1) };
}

interface Slot {
  readonly kind: string;
  readonly optional: boolean;
}

function slots(spec: string): Slot[] {
  return [...spec.matchAll(/([fibs])([?*]?)/g)].map((m) => ({ kind: m[1] as string, optional: m[2] === '?' }));
}

/** A model of the given nodes and opset, with the float input `x` ([2, 3]), the other inputs given and one output. */
function oneNodeModel(nodes: readonly NodeProto[], opset: number, output: string, others: readonly ValueInfoProto[] = []): Uint8Array {
  return encodeModel(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'probe',
      node: [...nodes],
      input: [makeValueInfo('x', DataType.FLOAT, [2, 3]), ...others],
      output: [makeValueInfo(output, DataType.FLOAT)],
    },
  }) as unknown as ModelProto);
}

let minOpset: number | undefined;

/**
 * The oldest default-domain opset the gradient builder accepts (it refuses older models, or converts them
 * to the opset its rules emit), found by asking it to differentiate a Relu in each opset.
 */
export function gradientMinOpset(): number {
  if (minOpset !== undefined) return minOpset;
  minOpset = ONNX_MAX_OPSET + 1;
  for (let opset = 1; opset <= ONNX_MAX_OPSET; opset++) {
    try {
      transformModel(oneNodeModel([makeNode('Relu', ['x'], ['y'])], opset, 'y'), { wrt: ['x'] });
      minOpset = opset;
      break;
    } catch {
      continue;
    }
  }
  return minOpset;
}

/** The versions of a default-domain operator in effect in some opset the gradient builder accepts. */
function inEffect(versions: readonly number[], deprecated?: number): number[] {
  const min = gradientMinOpset();
  return versions.filter((v, i) => v !== deprecated && (i === versions.length - 1 || (versions[i + 1] as number) - 1 >= min));
}

/**
 * Asks the gradient builder what it does with an operator that has no rule when a floating-point tensor
 * on the gradient path flows into it — into every input that may hold one, and into its subgraphs (the
 * branches of `If`) as an outer-scope name — in a model of the given opset: `refused`; `cut` (its outputs
 * are not differentiable, as the builder's type inference sees them); or `passes` (the builder rewrote
 * it into operators with rules). `undefined` when nothing floating point can flow into it.
 */
function probe(opType: string, spec: OnnxOperatorSpec, opset: number): 'refused' | 'cut' | 'passes' | undefined {
  const [ins = '', outs = ''] = spec.io.split('|');
  const inputSlots = slots(ins);
  const graphs = spec.graphs ?? [];
  if (!inputSlots.some((s) => s.kind === 'f') && graphs.length === 0) return undefined;
  // Other inputs are model inputs too (not constants, which folding would evaluate: an If on a constant
  // condition is inlined), but not differentiated.
  const others: ValueInfoProto[] = [];
  const inputs = inputSlots.map((s, k) => {
    if (s.kind === 'f') return 'x';
    if (s.optional) return '';
    const name = `c${k}`;
    others.push(makeValueInfo(name, s.kind === 'b' ? DataType.BOOL : DataType.INT64, [1]));
    return name;
  });
  while (inputs.at(-1) === '') inputs.pop();
  const outputs = slots(outs).map((_, k) => `o${k}`);
  const node = makeNode(opType, inputs, outputs);
  // Each subgraph reads x from the outer scope.
  node.attribute.push(
    ...graphs.map((name) =>
      onnx.AttributeProto.create({
        name,
        type: onnx.AttributeProto.AttributeType.GRAPH,
        g: { name, node: [makeNode('Identity', ['x'], [`${name}/out`])], output: [makeValueInfo(`${name}/out`, DataType.FLOAT)] },
      }) as unknown as AttributeProto,
    ),
  );
  const casts = outputs.map((o) => makeNode('Cast', [o], [`${o}/float`], { to: DataType.FLOAT }));
  const nodes = [node, ...casts];
  if (casts.length > 1) nodes.push(makeNode('Sum', casts.map((c) => c.output[0] as string), ['y']));
  const y = casts.length > 1 ? 'y' : `${outputs[0]}/float`;
  try {
    const built = transformModel(oneNodeModel(nodes, opset, y, others), { wrt: ['x'], output: y });
    // The output reaches x only through the operator: a gradient that reads the output weights passed it.
    const passes = (decodeModel(built.bytes).graph?.node ?? []).some((n) => n.input.includes(WEIGHTS_INPUT));
    return passes ? 'passes' : 'cut';
  } catch (e) {
    if (e instanceof UnsupportedOperatorError && e.operators.some((o) => o.opType === opType)) return 'refused';
    throw e;
  }
}

/** What the spec's output kinds say of a cut operator. */
function cutReason(io: string): string {
  const kinds = new Set(slots(io.split('|')[1] ?? '').map((s) => s.kind));
  if (kinds.size === 1 && kinds.has('b')) return 'boolean output';
  if (kinds.size === 1 && kinds.has('i')) return 'integer output';
  return 'integer or boolean output';
}

/** A modified rule's name in a rule set, `plain gradient`, or undefined without any gradient. */
function ruleName(op: string, domain: string, opType: string, set: Exclude<RuleSet, 'gradient'>, base: GradientRule | undefined, support: GradientSupport): string | undefined {
  const rule = getGradient(opType, set, domain);
  if (rule && rule !== base) return MODIFIED_RULES[set].byOp[op] ?? MODIFIED_RULES[set].generic;
  return support === 'rule' || support === 'decomposition' || support === 'conversion' ? 'plain gradient' : undefined;
}

/**
 * The operator table of the documentation, generated from the code: every default-domain ONNX operator of
 * opsets 1–21 and every operator of another domain that has a backward rule or a decomposition, with how
 * gradients pass it in each rule set. Operators without a rule are classified by asking the gradient
 * builder itself (a one-node model per operator).
 */
export function operatorTable(): OperatorRow[] {
  const keys = new Set<string>([...Object.keys(ONNX_OPERATORS), ...gradientOps(), ...decomposedOps()]);
  const foldable = new Set(foldableOps());
  const rows: OperatorRow[] = [];
  for (const op of keys) {
    const { domain, opType } = splitKey(op);
    const spec = domain ? undefined : ONNX_OPERATORS[op];
    const base = getGradient(opType, 'gradient', domain);
    let gradient: GradientSupport;
    let reason: string | undefined;
    if (base === zeroGrad) [gradient, reason] = ['not-differentiable', 'piecewise constant'];
    else if (base === independentGrad) [gradient, reason] = ['not-differentiable', 'independent of the input values'];
    else if (base) [gradient, reason] = ['rule', base.straightThrough ? 'straight-through' : undefined];
    else if (getDecomposition(opType, domain)) gradient = 'decomposition';
    else if (!spec) gradient = 'forward-only';
    else {
      // A deprecated operator is met only in the opsets before its deprecation.
      const opset = spec.deprecated !== undefined ? spec.deprecated - 1 : ONNX_MAX_OPSET;
      const probed = opset >= gradientMinOpset() ? probe(opType, spec, opset) : 'refused';
      if (probed === undefined) [gradient, reason] = ['not-differentiable', 'no floating-point input'];
      else if (probed === 'cut') [gradient, reason] = ['not-differentiable', cutReason(spec.io)];
      else if (probed === 'passes') gradient = 'conversion';
      else gradient = 'forward-only';
    }
    const versions = spec ? spec.versions : domain === 'com.microsoft' ? [MICROSOFT_OPSET] : [];
    const passes = gradient !== 'forward-only';
    rows.push({
      op,
      domain,
      opType,
      versions,
      gradientVersions: !passes ? [] : spec ? inEffect(spec.versions, spec.deprecated) : versions,
      ...(spec?.deprecated !== undefined ? { deprecated: spec.deprecated } : {}),
      gradient,
      ...(reason ? { reason } : {}),
      ...(NOTES[op] ? { note: NOTES[op] } : {}),
      deeplift: ruleName(op, domain, opType, 'deeplift', base, gradient),
      guidedBackprop: ruleName(op, domain, opType, 'guided-backprop', base, gradient),
      deconvolution: ruleName(op, domain, opType, 'deconvolution', base, gradient),
      folds: !domain && foldable.has(opType),
    });
  }
  return rows.sort((a, b) => (a.domain === b.domain ? compareNames(a.opType, b.opType) : a.domain === '' ? -1 : b.domain === '' ? 1 : compareNames(a.domain, b.domain)));
}

const GRADIENT_LABEL: Record<GradientSupport, string> = {
  rule: 'rule',
  decomposition: 'decomposed',
  conversion: 'converted',
  'not-differentiable': 'not differentiable',
  'forward-only': 'forward only',
};

/** Where an operator is specified. */
function specLink(row: OperatorRow): string {
  if (!row.domain) return row.versions.length > 0 ? `[${row.opType}](https://onnx.ai/onnx/operators/onnx__${row.opType}.html)` : row.opType;
  if (row.domain === 'com.microsoft') return `[${row.opType}](https://github.com/microsoft/onnxruntime/blob/main/docs/ContribOperators.md#com.microsoft.${row.opType})`;
  return row.opType;
}

function versionsCell(row: OperatorRow): string {
  if (row.versions.length === 0) return `— (not in opsets 1–${ONNX_MAX_OPSET})`;
  const handled = row.domain ? new Set(row.versions) : new Set(inEffect(row.versions, row.deprecated));
  return row.versions
    .map((v) => {
      const text = v === row.deprecated ? `${v} deprecated` : String(v);
      return handled.has(v) ? text : `(${text})`;
    })
    .join(', ');
}

function gradientCell(row: OperatorRow): string {
  const label = GRADIENT_LABEL[row.gradient] + (row.reason ? `: ${row.reason}` : '');
  return row.note ? `${label}; ${row.note}` : label;
}

function guidedCell(row: OperatorRow): string {
  if (row.guidedBackprop === undefined && row.deconvolution === undefined) return '—';
  if (row.guidedBackprop === row.deconvolution) return row.guidedBackprop ?? '—';
  return `${row.guidedBackprop ?? '—'} / ${row.deconvolution ?? '—'}`;
}

function table(rows: readonly OperatorRow[]): string[] {
  return [
    '| operator | versions | gradient | DeepLift | guided backprop / deconvolution | folds |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${specLink(r)} | ${versionsCell(r)} | ${gradientCell(r)} | ${r.deeplift ?? '—'} | ${guidedCell(r)} | ${r.folds ? 'yes' : ''} |`),
  ];
}

function counts(rows: readonly OperatorRow[]): string {
  const n = (g: GradientSupport): number => rows.filter((r) => r.gradient === g).length;
  const converted = n('conversion') > 0 ? `, ${n('conversion')} converted` : '';
  return `${n('rule')} with a backward rule, ${n('decomposition')} decomposed${converted}, ${n('not-differentiable')} not differentiable, ${n('forward-only')} forward only`;
}

/**
 * The operator table as Markdown: one table for the default domain, one per other domain (headed `###`),
 * each preceded by a count of its operators per kind of gradient support.
 */
export function renderOperatorTable(rows: readonly OperatorRow[] = operatorTable()): string {
  const domains = [...new Set(rows.map((r) => r.domain))];
  const out: string[] = [
    `Gradient models are built for models of opset ${gradientMinOpset()} and newer: versions in parentheses are in effect only in older opsets.`,
  ];
  for (const domain of domains) {
    const part = rows.filter((r) => r.domain === domain);
    out.push(
      '',
      domain ? `### ${domain}` : `### ai.onnx (the default domain), opsets 1–${ONNX_MAX_OPSET}`,
      '',
      `${part.length} operators: ${counts(part)}.`,
      '',
      ...table(part),
    );
  }
  return `${out.join('\n')}\n`;
}
