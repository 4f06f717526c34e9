import { BackendError } from '@attribution/tensor';
import onnxProto from 'onnx-proto';
import { InvalidModelError } from './errors.js';

/** The ONNX protobuf namespace (from `onnx-proto`). */
export const onnx = onnxProto.onnx;

/** A protobuf int64 as decoded: a number, or a Long for large values. */
export type Int64 = number | { toNumber(): number };

/** A decoded ONNX tensor (`TensorProto`): repeated fields are always arrays once decoded. */
export interface TensorProto {
  name: string;
  dataType: number;
  dims: Int64[];
  rawData: Uint8Array;
  floatData: number[];
  doubleData: number[];
  int32Data: number[];
  int64Data: Int64[];
  uint64Data: Int64[];
  stringData: Uint8Array[];
  /** 1 (EXTERNAL) when the values live in another file, named by `externalData`. */
  dataLocation?: number;
  /** `location`, `offset`, `length` (and `checksum`) of external values. */
  externalData: { key: string; value: string }[];
}

/** A decoded node attribute. */
export interface AttributeProto {
  name: string;
  type: number;
  f: number;
  i: Int64;
  s: Uint8Array;
  t?: TensorProto | null;
  floats: number[];
  ints: Int64[];
  /** The values of a list-of-strings attribute (e.g. an RNN's `activations`). */
  strings?: Uint8Array[];
  /** Inside a function body: the calling node's attribute this one takes its value from. */
  refAttrName?: string;
  /** A subgraph (the branches of `If`, the bodies of `Loop` and `Scan`). */
  g?: GraphProto | null;
  graphs?: GraphProto[];
}

/** A decoded node. */
export interface NodeProto {
  name: string;
  opType: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: AttributeProto[];
}

/** A decoded dimension of a tensor shape. */
export interface DimensionProto {
  dimValue?: Int64 | null;
  dimParam?: string | null;
}

/** A decoded graph input, output or value info. */
export interface ValueInfoProto {
  name: string;
  type?: { tensorType?: { elemType?: number | null; shape?: { dim: DimensionProto[] } | null } | null } | null;
}

/** A decoded graph. */
export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  sparseInitializer?: { values?: TensorProto | null }[];
}

/** A decoded model. */
export interface ModelProto {
  irVersion: Int64;
  producerName: string;
  producerVersion: string;
  opsetImport: { domain: string; version: Int64 }[];
  graph?: GraphProto | null;
  /** Model-local functions (IR 8): operators defined by a body of other operators. */
  functions?: FunctionProto[];
}

/** A decoded model-local function. */
export interface FunctionProto {
  name: string;
  domain: string;
  input: string[];
  output: string[];
  /** Names of the attributes the function takes. */
  attribute: string[];
  /** Attributes with default values (IR 9). */
  attributeProto?: AttributeProto[];
  node: NodeProto[];
}

/** ONNX element types (`TensorProto.DataType`). */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

/** Whether an ONNX element type is a floating-point type gradients can flow through. */
export function isFloatType(t: number | undefined): boolean {
  return t === DataType.FLOAT || t === DataType.DOUBLE || t === DataType.FLOAT16 || t === DataType.BFLOAT16;
}

/** Name of an ONNX element type, for messages. */
export function typeName(t: number | undefined): string {
  const entry = Object.entries(DataType).find(([, v]) => v === t);
  return entry ? entry[0].toLowerCase() : `type ${t}`;
}

/** A protobuf int64 (number or Long) as a JavaScript number. */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof v === 'object' && 'toNumber' in v) return (v as { toNumber(): number }).toNumber();
  return Number(v ?? 0);
}

/** The attribute `name` of a node, if present. */
export function attribute(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name);
}

/** An integer attribute, or `fallback`. */
export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a ? toNumber(a.i) : fallback;
}

/** A float attribute, or `fallback`. */
export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = attribute(node, name);
  return a ? a.f : fallback;
}

/** An integer-list attribute, or `fallback`. */
export function attrInts(node: NodeProto, name: string, fallback?: number[]): number[] | undefined {
  const a = attribute(node, name);
  return a ? a.ints.map(toNumber) : fallback;
}

/** A string attribute, or `fallback`. */
export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = attribute(node, name);
  return a ? new TextDecoder().decode(a.s) : fallback;
}

/** A list-of-strings attribute, or `fallback`. */
export function attrStrings(node: NodeProto, name: string, fallback?: string[]): string[] | undefined {
  const a = attribute(node, name);
  return a ? (a.strings ?? []).map((s) => new TextDecoder().decode(s)) : fallback;
}

/** Bytes per element of the numeric types stored in `raw_data`. */
const BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8 };

/** Whether a tensor's values are stored in an external file. */
export function isExternal(t: TensorProto): boolean {
  return t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0;
}

/** The largest ONNX element type number known (FLOAT4E2M1 is 23). */
const MAX_KNOWN_TYPE = 23;

/**
 * How many values a tensor proto stores (its raw data or its typed field), or `undefined` when that cannot
 * be told (external data, packed 4-bit types, types this code does not know).
 */
export function storedCount(t: TensorProto): number | undefined {
  if (isExternal(t)) return undefined;
  const type = t.dataType;
  if (t.rawData && t.rawData.length > 0) {
    const width = BYTES[type];
    return width === undefined ? undefined : t.rawData.length / width;
  }
  switch (type) {
    case DataType.FLOAT: return t.floatData.length;
    case 14: return t.floatData.length / 2; // complex64
    case DataType.DOUBLE: return t.doubleData.length;
    case 15: return t.doubleData.length / 2; // complex128
    case DataType.INT64: return t.int64Data.length;
    case DataType.UINT32:
    case DataType.UINT64: return t.uint64Data.length;
    case DataType.STRING: return t.stringData?.length ?? 0;
    case DataType.INT32:
    case DataType.INT16:
    case DataType.INT8:
    case DataType.UINT16:
    case DataType.UINT8:
    case DataType.BOOL:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
    case 17: case 18: case 19: case 20: // float8 types
      return t.int32Data.length;
    default: return undefined;
  }
}

/**
 * Checks a tensor proto read from an untrusted file: a known data type, non-negative integer dims, and as
 * many stored values as the dims say. Throws an {@link InvalidModelError} naming `what` otherwise.
 */
export function checkTensorProto(t: TensorProto, what: string): void {
  const name = `${what} '${t.name}'`;
  if (!Number.isInteger(t.dataType) || t.dataType <= 0 || t.dataType > MAX_KNOWN_TYPE) {
    throw new InvalidModelError(`${name} has no valid data type (${t.dataType}).`);
  }
  const dims = t.dims.map(toNumber);
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new InvalidModelError(`${name} has dimension ${d}; dimensions are non-negative integers.`);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const width = BYTES[t.dataType];
  if (!isExternal(t) && t.rawData?.length && width !== undefined && t.rawData.length % width !== 0) {
    throw new InvalidModelError(`${name} has ${t.rawData.length} bytes of raw data, not a whole number of ${typeName(t.dataType)} values.`);
  }
  const stored = storedCount(t);
  if (stored !== undefined && stored !== count) {
    throw new InvalidModelError(`${name} has shape [${dims.join(', ')}] (${count} values) but stores ${stored} ${typeName(t.dataType)} values.`);
  }
}

/** Number of elements of a tensor proto. */
export function tensorSize(t: TensorProto): number {
  return t.dims.reduce((n: number, d) => n * toNumber(d), 1);
}

/** Decodes the values of a numeric tensor proto (float16 unsupported) as plain numbers. */
export function tensorValues(t: TensorProto): number[] {
  const type = t.dataType;
  if (isExternal(t)) {
    throw new BackendError(`Tensor '${t.name}' stores its values in an external file; load the model with fromOnnx(ort, file, { externalDataFolder }) so that they are read.`);
  }
  if (t.rawData && t.rawData.length > 0) {
    const bytes = t.rawData;
    const width = BYTES[type];
    if (width === undefined) throw new BackendError(`Cannot read the values of tensor '${t.name}' of type ${typeName(type)} (raw data of this type is not supported here).`);
    if (bytes.byteLength % width !== 0) {
      throw new InvalidModelError(`Tensor '${t.name}' has ${bytes.byteLength} bytes of raw data, not a whole number of ${typeName(type)} values.`);
    }
    const n = bytes.byteLength / width;
    // An aligned copy read through a typed array (little-endian, as every platform ONNX Runtime runs on).
    // (Node decodes bytes fields as Buffers, whose slice() is a view into a shared pool: copy explicitly.)
    const copy = new Uint8Array(bytes).buffer;
    let out: number[];
    switch (type) {
      case DataType.FLOAT: out = Array.from(new Float32Array(copy)); break;
      case DataType.DOUBLE: out = Array.from(new Float64Array(copy)); break;
      case DataType.INT64: out = Array.from(new BigInt64Array(copy), Number); break;
      case DataType.UINT64: out = Array.from(new BigUint64Array(copy), Number); break;
      case DataType.INT32: out = Array.from(new Int32Array(copy)); break;
      case DataType.UINT32: out = Array.from(new Uint32Array(copy)); break;
      case DataType.INT16: out = Array.from(new Int16Array(copy)); break;
      case DataType.UINT16: out = Array.from(new Uint16Array(copy)); break;
      case DataType.INT8: out = Array.from(new Int8Array(copy)); break;
      case DataType.UINT8:
      case DataType.BOOL: out = Array.from(new Uint8Array(copy)); break;
      case DataType.FLOAT16: {
        const table = halfTable();
        const bits = new Uint16Array(copy);
        out = new Array<number>(n);
        for (let i = 0; i < n; i++) out[i] = table[bits[i] as number] as number;
        break;
      }
      default: throw new BackendError(`Cannot read the values of tensor '${t.name}' of type ${typeName(type)} (raw data of this type is not supported here).`);
    }
    return out;
  }
  if (t.floatData.length) return [...t.floatData];
  if (t.doubleData.length) return [...t.doubleData];
  if (t.int64Data.length) return t.int64Data.map(toNumber);
  if (t.int32Data.length) return type === DataType.FLOAT16 ? t.int32Data.map(fromFloat16) : [...t.int32Data];
  if (t.uint64Data.length) return t.uint64Data.map(toNumber);
  return [];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The IEEE half-precision bits nearest to `v` (rounding to even; overflow to infinity). */
export function toFloat16(v: number): number {
  f32[0] = v;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = (mant | 0x800000) >>> (1 - e);
    const rest = (mant | 0x800000) & ((1 << (1 - e)) - 1);
    const half = 1 << -e;
    const round = rest > half || (rest === half && (m & 0x2000) !== 0) ? 1 : 0;
    return sign | ((m >>> 13) + round);
  }
  const base = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  return rest > 0x1000 || (rest === 0x1000 && (base & 1) === 1) ? base + 1 : base;
}

let halves: Float32Array | undefined;

/** The value of every half-precision bit pattern (decoding by lookup). */
function halfTable(): Float32Array {
  if (!halves) {
    halves = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halves[h] = fromFloat16(h);
  }
  return halves;
}

/** The value of IEEE half-precision bits. */
export function fromFloat16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

const INT64_MAX = 2n ** 63n - 1n;

/** A number as an int64, saturating (INT64_MAX read as a double is 2⁶³, one past the largest int64). */
function toInt64(v: number): bigint {
  if (!Number.isFinite(v)) return v > 0 ? INT64_MAX : v < 0 ? -INT64_MAX - 1n : 0n;
  const b = BigInt(Math.trunc(v));
  return b > INT64_MAX ? INT64_MAX : b < -INT64_MAX - 1n ? -INT64_MAX - 1n : b;
}

/** Encodes numbers as the little-endian `raw_data` of the given type. */
export function encodeValues(values: ArrayLike<number>, type: number): Uint8Array {
  switch (type) {
    case DataType.FLOAT: return new Uint8Array(Float32Array.from(values).buffer);
    case DataType.DOUBLE: return new Uint8Array(Float64Array.from(values).buffer);
    case DataType.INT64: return new Uint8Array(BigInt64Array.from(Array.from(values, toInt64)).buffer);
    case DataType.INT32: return new Uint8Array(Int32Array.from(values).buffer);
    case DataType.INT16: return new Uint8Array(Int16Array.from(values).buffer);
    case DataType.UINT16: return new Uint8Array(Uint16Array.from(values).buffer);
    case DataType.UINT32: return new Uint8Array(Uint32Array.from(values).buffer);
    case DataType.UINT64: return new Uint8Array(BigUint64Array.from(Array.from(values, (v) => BigInt(Math.max(0, Math.trunc(v))))).buffer);
    case DataType.INT8: return new Uint8Array(Int8Array.from(values).buffer);
    case DataType.FLOAT16: {
      const out = new Uint16Array(values.length);
      for (let i = 0; i < out.length; i++) out[i] = toFloat16(values[i] as number);
      return new Uint8Array(out.buffer);
    }
    case DataType.BOOL:
    case DataType.UINT8: return Uint8Array.from(values);
    default: throw new BackendError(`Cannot encode constants of type ${typeName(type)}.`);
  }
}

/** A tensor proto holding `values` (row-major) with the given type and dims. */
export function makeTensor(name: string, type: number, dims: readonly number[], values: ArrayLike<number>): TensorProto {
  return onnx.TensorProto.create({ name, dataType: type, dims: [...dims], rawData: encodeValues(values, type) }) as unknown as TensorProto;
}

/** An attribute value for {@link makeNode}: numbers are ints unless wrapped as `{ f }`. */
export type AttrValue =
  | number
  | readonly number[]
  | string
  | { readonly f: number }
  | { readonly floats: readonly number[] }
  | { readonly strings: readonly string[] }
  | { readonly t: TensorProto };

function isNumberList(v: AttrValue): v is readonly number[] {
  return Array.isArray(v);
}

/** An attribute proto (see {@link makeNode} for how values are typed). */
export function makeAttribute(name: string, value: AttrValue): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  const make = (props: Record<string, unknown>): AttributeProto => onnx.AttributeProto.create({ name, ...props }) as unknown as AttributeProto;
  if (typeof value === 'number') return make({ type: T.INT, i: value });
  if (typeof value === 'string') return make({ type: T.STRING, s: new TextEncoder().encode(value) });
  if (isNumberList(value)) return make({ type: T.INTS, ints: [...value] });
  if ('f' in value) return make({ type: T.FLOAT, f: value.f });
  if ('floats' in value) return make({ type: T.FLOATS, floats: [...value.floats] });
  if ('strings' in value) return make({ type: T.STRINGS, strings: value.strings.map((s) => new TextEncoder().encode(s)) });
  return make({ type: T.TENSOR, t: value.t });
}

/** A node proto. */
export function makeNode(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attrs: Readonly<Record<string, AttrValue | undefined>> = {},
  name = '',
): NodeProto {
  const attribute = Object.entries(attrs)
    .filter((e): e is [string, AttrValue] => e[1] !== undefined)
    .map(([k, v]) => makeAttribute(k, v));
  return onnx.NodeProto.create({ opType, input: [...inputs], output: [...outputs], attribute, name }) as unknown as NodeProto;
}

/** A value info (graph input or output) with an element type and an optional shape (strings are symbolic). */
export function makeValueInfo(name: string, elemType: number, shape?: readonly (number | string)[]): ValueInfoProto {
  const tensorType: Record<string, unknown> = { elemType };
  if (shape) {
    tensorType.shape = { dim: shape.map((d) => (typeof d === 'number' && d >= 0 ? { dimValue: d } : { dimParam: typeof d === 'string' && !d.startsWith('?') ? d : '' })) };
  }
  return onnx.ValueInfoProto.create({ name, type: { tensorType } }) as unknown as ValueInfoProto;
}

/** Decodes a model from bytes. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return onnx.ModelProto.decode(bytes) as unknown as ModelProto;
}

/** Encodes a model to bytes. */
export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model as unknown as onnxProto.onnx.IModelProto).finish();
}

/** One field of an encoded protobuf message: its number, and its varint value or its bytes. */
export interface ProtobufField {
  readonly number: number;
  /** The value of a varint field (wire type 0). */
  readonly varint?: number;
  /** The payload of a length-delimited field (wire type 2): a view into the message's bytes. */
  readonly bytes?: Uint8Array;
}

/** Reads a protobuf varint at `at`; returns [value, next offset]. */
function readVarint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const b = bytes[i] as number;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  throw new InvalidModelError('The model file has a malformed protobuf varint.');
}

/**
 * The fields of an encoded protobuf message, read straight from its bytes — for fields the schema this
 * package decodes with does not know (IR 9's function attribute defaults), and for scans that must not
 * miss anything. Throws an {@link InvalidModelError} on malformed bytes.
 */
export function protobufMessage(bytes: Uint8Array): ProtobufField[] {
  const out: ProtobufField[] = [];
  let at = 0;
  while (at < bytes.length) {
    const [tag, next] = readVarint(bytes, at);
    at = next;
    const wire = tag % 8;
    const number = Math.floor(tag / 8);
    if (wire === 0) {
      const [value, after] = readVarint(bytes, at);
      out.push({ number, varint: value });
      at = after;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const [length, start] = readVarint(bytes, at);
      if (start + length > bytes.length) throw new InvalidModelError('The model file has a truncated protobuf field.');
      out.push({ number, bytes: bytes.subarray(start, start + length) });
      at = start + length;
    } else throw new InvalidModelError(`The model file has a protobuf field of unknown wire type ${wire}.`);
    if (at > bytes.length) throw new InvalidModelError('The model file has a truncated protobuf field.');
  }
  return out;
}

/** The length-delimited fields numbered `field` of an encoded protobuf message, as byte views. */
export function protobufFields(bytes: Uint8Array, field: number): Uint8Array[] {
  return protobufMessage(bytes).filter((f) => f.number === field && f.bytes).map((f) => f.bytes as Uint8Array);
}
