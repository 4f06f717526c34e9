import { InvalidModelError, proto } from '@attribution/onnx-grad';
import { ArgumentError, describeValue } from '@attribution/tensor';
import { fileSystem } from '#node-fs';
import type { FileSystem } from './file-system.js';

/** Where the external data files of a model are: a folder path (Node) or a `file:`/`http(s):` URL. */
export type ExternalDataFolder = string | URL;

type ModelProto = ReturnType<typeof proto.decodeModel>;
type TensorProto = proto.TensorProto;

/** The most bytes of external data inlined into one model (protobuf messages stop at 2 GiB). */
const MAX_INLINED_BYTES = 2 ** 31 - 1;

/** Subgraphs nest at most this deep (a hostile file could nest them until the stack overflows). */
const MAX_DEPTH = 64;

type SparseTensor = { values?: TensorProto | null; indices?: TensorProto | null };
type Attribute = { t?: TensorProto | null; tensors?: TensorProto[]; sparseTensor?: SparseTensor | null; sparseTensors?: SparseTensor[]; g?: Graphish | null; graphs?: Graphish[] };
type Graphish = { initializer?: TensorProto[]; sparseInitializer?: SparseTensor[]; node?: { attribute?: Attribute[] }[] };
type Modelish = { graph?: Graphish | null; functions?: { node?: { attribute?: Attribute[] }[] }[]; trainingInfo?: { initialization?: Graphish | null; algorithm?: Graphish | null }[] };

/**
 * Every tensor proto of a decoded model that may hold values: initializers and sparse initializers,
 * tensor and sparse-tensor attributes (a Constant's `sparse_value`), in subgraphs, in model-local function
 * bodies and in training graphs.
 */
function tensorsOf(model: ModelProto): TensorProto[] {
  const out: TensorProto[] = [];
  const sparse = (s: SparseTensor | null | undefined): void => {
    if (s?.values) out.push(s.values);
    if (s?.indices) out.push(s.indices);
  };
  const nodes = (list: { attribute?: Attribute[] }[] | undefined, depth: number): void => {
    for (const n of list ?? []) {
      for (const a of n.attribute ?? []) {
        if (a.t) out.push(a.t);
        for (const t of a.tensors ?? []) out.push(t);
        sparse(a.sparseTensor);
        for (const s of a.sparseTensors ?? []) sparse(s);
        visit(a.g, depth + 1);
        for (const sub of a.graphs ?? []) visit(sub, depth + 1);
      }
    }
  };
  const visit = (g: Graphish | null | undefined, depth: number): void => {
    if (!g) return;
    if (depth > MAX_DEPTH) throw new InvalidModelError(`The model nests subgraphs deeper than ${MAX_DEPTH} levels.`);
    for (const t of g.initializer ?? []) out.push(t);
    for (const s of g.sparseInitializer ?? []) sparse(s);
    nodes(g.node, depth);
  };
  const m = model as unknown as Modelish;
  visit(m.graph, 0);
  for (const f of m.functions ?? []) nodes(f.node, 1);
  for (const t of m.trainingInfo ?? []) {
    visit(t.initialization, 1);
    visit(t.algorithm, 1);
  }
  return out;
}

/** Field numbers of the ONNX messages that (transitively) hold tensors, read from the encoded bytes. */
const TENSOR_HOLDERS: Record<string, Record<number, string>> = {
  model: { 7: 'graph', 20: 'training', 25: 'function' },
  training: { 1: 'graph', 2: 'graph' },
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' },
  function: { 7: 'node', 11: 'attribute' },
  node: { 5: 'attribute' },
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' },
  sparse: { 1: 'tensor', 2: 'tensor' },
};

/**
 * Where a model's encoded bytes keep tensor values in external files, read from the protobuf fields
 * themselves (so that fields the decoding schema does not know, such as IR 9's function attribute
 * defaults, are not missed): a path per reference, e.g. `graph.node[3].attribute[0].sparse.tensor`.
 */
export function externalReferences(bytes: Uint8Array): string[] {
  const found: string[] = [];
  const walk = (message: Uint8Array, type: string, where: string, depth: number): void => {
    if (depth > 4 * MAX_DEPTH) throw new InvalidModelError(`The model nests messages deeper than ${4 * MAX_DEPTH} levels.`);
    const fields = proto.protobufMessage(message);
    if (type === 'tensor') {
      // data_location (14) EXTERNAL, or external_data (13) entries.
      if (fields.some((f) => (f.number === 14 && f.varint === 1) || (f.number === 13 && f.bytes))) found.push(where);
      return;
    }
    const holders = TENSOR_HOLDERS[type] as Record<number, string>;
    const counts = new Map<number, number>();
    for (const f of fields) {
      const inner = holders[f.number];
      if (!inner || !f.bytes) continue;
      const k = counts.get(f.number) ?? 0;
      counts.set(f.number, k + 1);
      walk(f.bytes, inner, `${where}${where ? '.' : ''}${inner}[${k}]`, depth + 1);
    }
  };
  walk(bytes, 'model', '', 0);
  return found;
}

/** A tensor's external reference: file, byte offset and length (undefined = to the end of the file). */
interface Reference {
  readonly tensor: TensorProto;
  readonly location: string;
  readonly offset: number;
  readonly length?: number;
}

function referenceOf(t: TensorProto): Reference {
  const entries = new Map((t.externalData ?? []).map((e) => [e.key, e.value]));
  const location = entries.get('location');
  const what = `Tensor '${t.name}'`;
  if (!location) throw new InvalidModelError(`${what} stores its values externally but names no location.`);
  const integer = (key: string): number | undefined => {
    const raw = entries.get(key);
    if (raw === undefined || raw === '') return undefined;
    const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value)) throw new InvalidModelError(`${what} has an invalid external data ${key} '${raw.slice(0, 40)}'.`);
    return value;
  };
  return { tensor: t, location, offset: integer('offset') ?? 0, length: integer('length') };
}

/**
 * Checks an external data location: a relative path inside the folder. Absolute paths (`/x`, `C:\x`,
 * `\\server\x`), `..` segments, NUL bytes and URLs are refused whatever they would resolve to.
 */
function checkLocation(location: string, tensor: string): string {
  const refuse = (why: string): never => {
    throw new ArgumentError(
      'externalDataFolder',
      'external data locations relative to the folder, inside it',
      `'${location.slice(0, 80)}' for tensor '${tensor}' (${why})`,
      'The model file may be untrusted: its external data must stay in the folder you pass.',
    );
  };
  if (location.includes('\u0000')) refuse('a NUL byte');
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(location)) refuse(/^[a-zA-Z]:[\\/]/.test(location) ? 'an absolute path' : 'a URL');
  if (location.startsWith('/') || location.startsWith('\\')) refuse('an absolute path');
  const parts = location.split(/[\\/]+/);
  if (parts.includes('..')) refuse("a '..' segment that leaves the folder");
  const clean = parts.filter((p) => p !== '' && p !== '.');
  if (clean.length === 0) refuse('no file name');
  return clean.join('/');
}

/** Reads byte ranges of files inside one folder, never outside it. */
interface FolderReader {
  read(relative: string, offset: number, length: number | undefined, tensor: string): Promise<Uint8Array>;
}

async function fileReader(fs: FileSystem, folder: string): Promise<FolderReader> {
  let root: string;
  try {
    root = await fs.realpath(folder);
    if (!(await fs.isDirectory(root))) throw new Error('not a folder');
  } catch (e) {
    throw new ArgumentError('externalDataFolder', 'a readable folder', `'${folder}' (${(e as Error).message})`);
  }
  return {
    async read(relative, offset, length, tensor) {
      const target = fs.resolve(root, relative);
      let real: string;
      try {
        real = await fs.realpath(target);
      } catch (e) {
        throw new ArgumentError('externalDataFolder', `a folder holding '${relative}' (external data of tensor '${tensor}')`, `'${folder}' (${(e as Error).message})`);
      }
      // A symbolic link (the file or a folder on the way) may point anywhere: the real path must stay inside.
      const inside = fs.relative(root, real);
      if (inside === '' || inside.startsWith('..') || fs.isAbsolute(inside)) {
        throw new ArgumentError(
          'externalDataFolder',
          'external data files inside the folder',
          `'${relative}' for tensor '${tensor}', which resolves to '${real}' outside '${root}'`,
          'Symbolic links out of the folder are not followed.',
        );
      }
      const handle = await fs.open(real);
      try {
        const size = await handle.size();
        const want = length ?? size - offset;
        if (offset > size || want < 0 || offset + want > size) {
          throw new InvalidModelError(`Tensor '${tensor}' reads bytes ${offset}–${offset + want} of '${relative}', which has ${size} bytes.`);
        }
        const out = new Uint8Array(want);
        let done = 0;
        while (done < want) {
          const bytesRead = await handle.read(out, done, want - done, offset + done);
          if (bytesRead === 0) throw new InvalidModelError(`'${relative}' ended before the external data of tensor '${tensor}'.`);
          done += bytesRead;
        }
        return out;
      } finally {
        await handle.close();
      }
    },
  };
}

function urlReader(base: URL): FolderReader {
  const root = base.href.endsWith('/') ? base : new URL(`${base.href}/`);
  const files = new Map<string, Promise<Uint8Array>>();
  return {
    async read(relative, offset, length, tensor) {
      const url = new URL(relative.split('/').map(encodeURIComponent).join('/'), root);
      if (!url.href.startsWith(root.href)) {
        throw new ArgumentError('externalDataFolder', 'external data files inside the folder', `'${relative}' for tensor '${tensor}'`);
      }
      let file = files.get(url.href);
      if (!file) {
        file = (async () => {
          const response = await fetch(url);
          if (!response.ok) throw new ArgumentError('externalDataFolder', `a folder holding '${relative}'`, `'${root.href}' (HTTP ${response.status})`);
          return new Uint8Array(await response.arrayBuffer());
        })();
        files.set(url.href, file);
      }
      const bytes = await file;
      const want = length ?? bytes.length - offset;
      if (offset > bytes.length || want < 0 || offset + want > bytes.length) {
        throw new InvalidModelError(`Tensor '${tensor}' reads bytes ${offset}–${offset + want} of '${relative}', which has ${bytes.length} bytes.`);
      }
      return bytes.slice(offset, offset + want);
    },
  };
}

async function readerFor(folder: unknown): Promise<FolderReader> {
  const url = folder instanceof URL ? folder : typeof folder === 'string' && /^(https?|file):/i.test(folder) ? new URL(folder) : undefined;
  if (url && url.protocol !== 'file:') return urlReader(url);
  if (typeof folder !== 'string' && !url) {
    throw new ArgumentError('externalDataFolder', 'a folder path or URL', describeValue(folder));
  }
  if (!fileSystem) throw new ArgumentError('externalDataFolder', 'an http(s) URL (there is no file system here)', describeValue(folder));
  return fileReader(fileSystem, url ? fileSystem.fileURLToPath(url) : (folder as string));
}

/** The tensors of a decoded model that keep their values in external files. */
export function externalTensors(model: ModelProto): TensorProto[] {
  return tensorsOf(model).filter((t) => proto.isExternal(t));
}

/**
 * Reads the external data of a model from `folder` and returns the model with every value inlined (the
 * bytes unchanged when it has none), so that any ONNX Runtime — node or web — loads it from memory alone.
 * Without a folder, a model with external data is refused; locations are confined to the folder (no
 * absolute paths, `..` segments or symbolic links that leave it).
 */
export async function inlineExternalData(bytes: Uint8Array, folder: ExternalDataFolder | undefined): Promise<Uint8Array> {
  let model: ModelProto;
  try {
    model = proto.decodeModel(bytes);
  } catch (e) {
    throw new InvalidModelError(`The bytes are not an ONNX model: ${(e as Error).message}`, { cause: e });
  }
  // Every external reference, wherever the file keeps it: ONNX Runtime would read it relative to the
  // working directory, so none may reach it unread.
  const raw = externalReferences(bytes);
  if (raw.length === 0) return bytes;
  // A function's default attribute values (IR 9) are a field the decoding schema predates.
  const unreadable = raw.filter((where) => /^function\[\d+\]\.attribute\[/.test(where));
  if (unreadable.length > 0) {
    throw new InvalidModelError(
      `The model keeps external data where this library cannot read it (${unreadable.slice(0, 3).join(', ')}${unreadable.length > 3 ? ', …' : ''}: default attribute values of a model-local function); it is refused rather than let ONNX Runtime read files relative to the working directory.`,
    );
  }
  const references = externalTensors(model).map(referenceOf);
  if (folder === undefined || folder === null) {
    const files = [...new Set(references.map((r) => r.location))].slice(0, 3).map((f) => `'${f.slice(0, 60)}'`);
    throw new ArgumentError(
      'externalDataFolder',
      `the folder holding the model's external data (${raw.length} tensor(s) are stored outside the .onnx file${files.length ? `, in ${files.join(', ')}` : ''})`,
      'none',
      'Pass fromOnnx(ort, file, { externalDataFolder }); a model file path alone is not trusted as one.',
    );
  }
  const reader = await readerFor(folder);
  let total = 0;
  for (const ref of references) {
    const relative = checkLocation(ref.location, ref.tensor.name);
    if (ref.length !== undefined && total + ref.length > MAX_INLINED_BYTES) {
      throw new InvalidModelError(`The model's external data exceeds ${MAX_INLINED_BYTES} bytes, more than one ONNX model can hold.`);
    }
    const data = await reader.read(relative, ref.offset, ref.length, ref.tensor.name);
    total += data.length;
    if (total > MAX_INLINED_BYTES) throw new InvalidModelError(`The model's external data exceeds ${MAX_INLINED_BYTES} bytes, more than one ONNX model can hold.`);
    ref.tensor.rawData = data;
    ref.tensor.dataLocation = 0;
    ref.tensor.externalData = [];
    proto.checkTensorProto(ref.tensor, 'Tensor');
  }
  const inlined = proto.encodeModel(model);
  const left = externalReferences(inlined);
  if (left.length > 0) {
    throw new InvalidModelError(
      `The model keeps external data where this library cannot read it (${left.slice(0, 3).join(', ')}${left.length > 3 ? ', …' : ''}); it is refused rather than let ONNX Runtime read files relative to the working directory.`,
    );
  }
  return inlined;
}
