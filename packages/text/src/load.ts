import type { OrtModule } from '@attribution/onnx';
import { ArgumentError, describeValue } from '@attribution/tensor';
import { readFileBytes } from '#node-fs';
import { OnnxCausalLM, type SessionOptions } from './decoder.js';
import { HfTokenizer } from './tokenizer.js';

/** A file of a model folder given in memory: bytes, a `Blob`/`File`, or text. */
export type TextModelFile = Uint8Array | ArrayBuffer | Blob | string;

/**
 * A model folder given as files: a record from relative path (`onnx/model.onnx`, `tokenizer.json`; a leading
 * folder name such as `tiny-gpt/` is allowed) to contents, or the `File`s of an `<input type="file"
 * webkitdirectory>` (their `webkitRelativePath`, else their name, is the path).
 */
export type TextModelFiles = Readonly<Record<string, TextModelFile>> | ArrayLike<File> | Iterable<File>;

/** Options of {@link loadTextModel}. */
export interface LoadTextModelOptions {
  /** Use the `_quantized` variant of the model file (`onnx/model_quantized.onnx`, …); default false. */
  readonly quantized?: boolean;
  /**
   * The model file: a path in the folder (`onnx/decoder_model_merged.onnx`) or a name without folder and
   * extension (`decoder_model_merged`). Default: the first present of `onnx/model.onnx`,
   * `onnx/decoder_model_merged.onnx`, `onnx/decoder_with_past_model.onnx`, then the same names at the top of
   * the folder.
   */
  readonly modelFile?: string;
  /** Options of the ONNX Runtime session. */
  readonly sessionOptions?: SessionOptions;
}

/** A language model folder, loaded: its tokenizer and its decoder. */
export interface TextModel {
  readonly tokenizer: HfTokenizer;
  readonly lm: OnnxCausalLM;
  /** The folder's `config.json` (empty when absent). */
  readonly config: Readonly<Record<string, unknown>>;
  /** The model file that was loaded, relative to the folder. */
  readonly modelFile: string;
  /** Releases the decoder's session. */
  dispose(): void;
}

type Reader = (path: string) => Promise<Uint8Array | undefined>;

const MODEL_NAMES = ['model', 'decoder_model_merged', 'decoder_with_past_model'];

/**
 * Loads a decoder folder in the layout transformers.js and Optimum use (`config.json`, `tokenizer.json`,
 * `tokenizer_config.json`, `onnx/model.onnx` or `onnx/decoder_model_merged.onnx`, optional `_quantized`
 * variants): from a path (Node), a URL (`http(s):`, or `file:` in Node) or files (the browser). The tokenizer is
 * `@huggingface/tokenizers` on `tokenizer.json`; the decoder runs in the ONNX Runtime you pass
 * (`onnxruntime-node` or `onnxruntime-web`).
 */
export async function loadTextModel(ort: OrtModule, source: string | URL | TextModelFiles, options: LoadTextModelOptions = {}): Promise<TextModel> {
  if (!ort || typeof ort.InferenceSession?.create !== 'function') throw new ArgumentError('ort', 'the onnxruntime-node or onnxruntime-web module', describeValue(ort));
  const { read, where } = reader(source);
  const json = async (path: string): Promise<Record<string, unknown> | undefined> => {
    const bytes = await read(path);
    if (!bytes) return undefined;
    try {
      const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
      return parsed as Record<string, unknown>;
    } catch (e) {
      throw new ArgumentError('source', `a valid ${path}`, `${where}/${path} (${(e as Error).message})`);
    }
  };
  const tokenizerJson = await json('tokenizer.json');
  if (!tokenizerJson) {
    throw new ArgumentError('source', 'a model folder with a tokenizer.json (and tokenizer_config.json, config.json, onnx/model.onnx)', `${where} without tokenizer.json`, 'Save the tokenizer with tokenizer.save_pretrained(folder) (a fast tokenizer writes tokenizer.json).');
  }
  const tokenizerConfig = (await json('tokenizer_config.json')) ?? {};
  const config = (await json('config.json')) ?? {};
  const suffix = options.quantized ? '_quantized' : '';
  let candidates: string[];
  if (options.modelFile !== undefined) {
    if (typeof options.modelFile !== 'string' || options.modelFile === '') throw new ArgumentError('modelFile', 'a model file path or name', describeValue(options.modelFile));
    const f = options.modelFile;
    candidates = f.endsWith('.onnx') ? [f] : [`onnx/${f}${suffix}.onnx`, `${f}${suffix}.onnx`];
  } else candidates = [...MODEL_NAMES.map((n) => `onnx/${n}${suffix}.onnx`), ...MODEL_NAMES.map((n) => `${n}${suffix}.onnx`)];
  for (const path of candidates) {
    const bytes = await read(path);
    if (!bytes) continue;
    const lm = await OnnxCausalLM.load(ort, bytes, { config, ...(options.sessionOptions ? { sessionOptions: options.sessionOptions } : {}) });
    return {
      tokenizer: new HfTokenizer(tokenizerJson, tokenizerConfig),
      lm,
      config,
      modelFile: path,
      dispose: () => lm.dispose(),
    };
  }
  throw new ArgumentError('source', `a model folder with a decoder (${candidates.join(', ')})`, `${where} without any of them`, options.quantized ? 'Drop `quantized` to load the float model.' : undefined);
}

function reader(source: string | URL | TextModelFiles): { read: Reader; where: string } {
  if (typeof source === 'string' || source instanceof URL) {
    const text = String(source);
    const isHttp = /^https?:/i.test(text);
    if (!isHttp && readFileBytes) {
      const readFile = readFileBytes;
      const base = source instanceof URL || text.startsWith('file:') ? new URL(text) : undefined;
      return {
        where: text,
        read: async (path) => {
          try {
            return await readFile(base ? new URL(path, base.href.endsWith('/') ? base : new URL(`${base.href}/`)) : `${text.replace(/[\\/]+$/, '')}/${path}`);
          } catch (e) {
            if ((e as { code?: string }).code === 'ENOENT') return undefined;
            throw new ArgumentError('source', 'a readable model folder', `${text}/${path} (${(e as Error).message})`);
          }
        },
      };
    }
    const base = new URL(text.endsWith('/') ? text : `${text}/`, typeof location !== 'undefined' ? location.href : undefined);
    return {
      where: text,
      read: async (path) => {
        const response = await fetch(new URL(path, base));
        if (response.status === 404) return undefined;
        if (!response.ok) throw new ArgumentError('source', 'a reachable model folder', `${new URL(path, base).href} (HTTP ${response.status})`);
        return new Uint8Array(await response.arrayBuffer());
      },
    };
  }
  if (source === null || typeof source !== 'object') throw new ArgumentError('source', 'a folder path, a URL, or the folder\'s files', describeValue(source));
  const entries = new Map<string, TextModelFile>();
  const isFiles = typeof (source as Iterable<File>)[Symbol.iterator] === 'function' || typeof (source as ArrayLike<File>).length === 'number';
  if (isFiles) {
    for (const f of Array.from(source as ArrayLike<File>)) {
      const name = (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
      if (typeof name !== 'string') throw new ArgumentError('source', 'File objects', describeValue(f));
      entries.set(name, f);
    }
  } else for (const [k, v] of Object.entries(source as Record<string, TextModelFile>)) entries.set(k, v);
  const find = (path: string): TextModelFile | undefined => {
    if (entries.has(path)) return entries.get(path);
    const hits = [...entries.keys()].filter((k) => k.endsWith(`/${path}`) && !k.slice(0, -path.length - 1).includes('/'));
    return hits.length === 1 ? entries.get(hits[0] as string) : undefined;
  };
  return {
    where: `the given files (${[...entries.keys()].slice(0, 6).join(', ')}${entries.size > 6 ? ', …' : ''})`,
    read: async (path) => {
      const v = find(path);
      if (v === undefined) return undefined;
      if (typeof v === 'string') return new TextEncoder().encode(v);
      if (v instanceof Uint8Array) return v;
      if (v instanceof ArrayBuffer) return new Uint8Array(v);
      if (typeof (v as Blob).arrayBuffer === 'function') return new Uint8Array(await (v as Blob).arrayBuffer());
      throw new ArgumentError(`source[${JSON.stringify(path)}]`, 'bytes, a Blob or File, or text', describeValue(v));
    },
  };
}
