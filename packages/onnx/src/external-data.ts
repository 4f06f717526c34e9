import { InvalidModelError, proto } from '@attribution/onnx-grad';
import { ArgumentError, describeValue } from '@attribution/tensor';

/** Where the external data files of a model are: a folder path (Node) or a `file:`/`http(s):` URL. */
export type ExternalDataFolder = string | URL;

type ModelProto = ReturnType<typeof proto.decodeModel>;
type TensorProto = proto.TensorProto;

/** The most bytes of external data inlined into one model (protobuf messages stop at 2 GiB). */
const MAX_INLINED_BYTES = 2 ** 31 - 1;

/** Every tensor proto of a model that may hold values: initializers and tensor attributes, in subgraphs too. */
function tensorsOf(model: ModelProto): TensorProto[] {
  const out: TensorProto[] = [];
  type Graphish = { initializer?: TensorProto[]; node?: { attribute?: { t?: TensorProto | null; tensors?: TensorProto[]; g?: Graphish | null; graphs?: Graphish[] }[] }[] };
  const visit = (g: Graphish | null | undefined, depth: number): void => {
    if (!g || depth > 64) return;
    for (const t of g.initializer ?? []) out.push(t);
    for (const n of g.node ?? []) {
      for (const a of n.attribute ?? []) {
        if (a.t) out.push(a.t);
        for (const t of a.tensors ?? []) out.push(t);
        visit(a.g, depth + 1);
        for (const sub of a.graphs ?? []) visit(sub, depth + 1);
      }
    }
  };
  visit(model.graph as Graphish, 0);
  return out;
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

const isNode = (): boolean => typeof process !== 'undefined' && Boolean(process.versions?.node);

async function fileReader(folder: string): Promise<FolderReader> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let root: string;
  try {
    root = await fs.realpath(folder);
    if (!(await fs.stat(root)).isDirectory()) throw new Error('not a folder');
  } catch (e) {
    throw new ArgumentError('externalDataFolder', 'a readable folder', `'${folder}' (${(e as Error).message})`);
  }
  return {
    async read(relative, offset, length, tensor) {
      const target = path.resolve(root, relative);
      let real: string;
      try {
        real = await fs.realpath(target);
      } catch (e) {
        throw new ArgumentError('externalDataFolder', `a folder holding '${relative}' (external data of tensor '${tensor}')`, `'${folder}' (${(e as Error).message})`);
      }
      // A symbolic link (the file or a folder on the way) may point anywhere: the real path must stay inside.
      const inside = path.relative(root, real);
      if (inside === '' || inside.startsWith('..') || path.isAbsolute(inside)) {
        throw new ArgumentError(
          'externalDataFolder',
          'external data files inside the folder',
          `'${relative}' for tensor '${tensor}', which resolves to '${real}' outside '${root}'`,
          'Symbolic links out of the folder are not followed.',
        );
      }
      const handle = await fs.open(real, 'r');
      try {
        const size = (await handle.stat()).size;
        const want = length ?? size - offset;
        if (offset > size || want < 0 || offset + want > size) {
          throw new InvalidModelError(`Tensor '${tensor}' reads bytes ${offset}–${offset + want} of '${relative}', which has ${size} bytes.`);
        }
        const out = new Uint8Array(want);
        let done = 0;
        while (done < want) {
          const { bytesRead } = await handle.read(out, done, want - done, offset + done);
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
  if (!isNode()) throw new ArgumentError('externalDataFolder', 'an http(s) URL (there is no file system here)', describeValue(folder));
  const { fileURLToPath } = await import('node:url');
  return fileReader(url ? fileURLToPath(url) : (folder as string));
}

/** Whether a decoded model keeps any tensor values in external files. */
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
  const external = externalTensors(model);
  if (external.length === 0) return bytes;
  const references = external.map(referenceOf);
  if (folder === undefined || folder === null) {
    const files = [...new Set(references.map((r) => r.location))].slice(0, 3).map((f) => `'${f.slice(0, 60)}'`);
    throw new ArgumentError(
      'externalDataFolder',
      `the folder holding the model's external data (${references.length} tensor(s) are stored outside the .onnx file, in ${files.join(', ')})`,
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
  return proto.encodeModel(model);
}
