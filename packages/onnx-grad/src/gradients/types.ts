import type { Emitter } from '../emitter.js';
import type { Dim, Graph } from '../graph.js';
import type { NodeProto } from '../proto.js';

/** What a backward rule sees of the node it differentiates. */
export interface GradContext {
  readonly node: NodeProto;
  readonly graph: Graph;
  /** Emits the backward nodes. */
  readonly e: Emitter;
  /** The default-domain opset of the model. */
  readonly opset: number;
  /** Name of input `i` ('' when an optional input is absent). */
  input(i: number): string;
  /** Name of output `i`. */
  output(i: number): string;
  /** The gradient flowing into output `i` (default 0), if any. */
  dy(i?: number): string | undefined;
  /** Whether input `i` needs a gradient. */
  needs(i: number): boolean;
  /** Inferred shape of a tensor. */
  shape(name: string): Dim[] | undefined;
  /** Inferred rank of a tensor (throws when unknown). */
  rank(name: string): number;
  /** Constant values of input `i` when it is an initializer or a Constant output. */
  constant(i: number): number[] | undefined;
  attrInt(name: string, fallback: number): number;
  attrInts(name: string, fallback?: number[]): number[] | undefined;
  attrFloat(name: string, fallback: number): number;
  attrString(name: string, fallback: string): string;
  /** Throws an unsupported-operator error for an attribute combination the rule does not handle. */
  unsupported(detail: string): never;
}

/**
 * The backward rule of one ONNX operator: given the gradient of its outputs, emit the gradient of its
 * inputs (a vector-Jacobian product). Only inputs listed in `inputs` receive gradients.
 */
export interface GradientRule {
  /** Input positions gradients flow to; other inputs are treated as constants. */
  readonly inputs: readonly number[] | ((node: NodeProto, opset: number) => readonly number[]);
  /**
   * Set for straight-through estimates (QuantizeLinear): gradients flow through the node's outputs even
   * though they are not floating point.
   */
  readonly straightThrough?: boolean;
  /** Returns, per input position, the name of its gradient (undefined where none). */
  backward(ctx: GradContext): ReadonlyArray<string | undefined>;
}
