import { ArgumentError, describeValue } from '@attribution/tensor';
import { fileSystem } from '#node-fs';

/** Where a model comes from: a file path or URL, or its bytes. */
export type ModelSource = string | URL | Uint8Array | ArrayBuffer;

/** Reads model bytes from a path (Node), a URL (fetch, or the file system for file: URLs) or bytes. */
export async function loadModelBytes(source: ModelSource): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  const url = source instanceof URL ? source : undefined;
  if (typeof source === 'string' || url) {
    const text = String(source);
    if (fileSystem && (!url || url.protocol === 'file:') && !/^https?:/.test(text)) {
      try {
        return await fileSystem.readFile(url ?? text);
      } catch (e) {
        throw new ArgumentError('model', 'a readable ONNX file', `'${text}' (${(e as Error).message})`);
      }
    }
    const response = await fetch(text);
    if (!response.ok) throw new ArgumentError('model', 'a reachable ONNX file', `'${text}' (HTTP ${response.status})`);
    return new Uint8Array(await response.arrayBuffer());
  }
  throw new ArgumentError('model', 'a path, a URL, a Uint8Array or an ArrayBuffer', describeValue(source));
}
