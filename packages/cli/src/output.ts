import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ArgumentError, AttributionError } from '@attribution/tensor';

/**
 * Writing an output failed after its checks passed: a full (`ENOSPC`) or read-only (`EROFS`) file system, a
 * quota, a folder removed meanwhile. Names the flag, the folder and the system's reason.
 */
export class OutputError extends AttributionError {
  constructor(
    /** The flag whose output could not be written, e.g. `--out`. */
    readonly argument: string,
    /** The folder written to. */
    readonly folder: string,
    /** The system's error code, e.g. `ENOSPC`. */
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, 'ERR_OUTPUT', options);
  }
}

const REASONS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'the folder no longer exists',
  EIO: 'input/output error',
  EFBIG: 'file too large',
};

/** An {@link OutputError} for a failed write of `file`; `hint` says what the failure means for the command. */
export function outputError(argument: string, file: string, e: unknown, hint?: string): OutputError {
  const code = (e as NodeJS.ErrnoException).code ?? 'error';
  const folder = path.dirname(path.resolve(file));
  const why = REASONS[code] ?? (e as Error).message;
  return new OutputError(argument, folder, code, `${argument}: could not write '${path.basename(file)}' in the folder '${folder}' (${code}: ${why}).${hint ? ` ${hint}` : ''}`, { cause: e });
}

/** How an output is written. */
export interface WriteOptions {
  /** The flag the output belongs to, named by errors. */
  readonly argument: string;
  /** Appended to the error message when the write fails. */
  readonly hint?: string;
  /** Also fsync the folder, so that the rename itself survives a crash (default true). */
  readonly syncFolder?: boolean;
}

/** A temporary name next to `file` (hidden, unique to this process and call). */
const temporary = (file: string): string => path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);

/** Whether `name` is a temporary file {@link writeAtomic} left behind (a process killed mid-write). */
export const isTemporary = (name: string): boolean => /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/.test(name);

function removeQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // Already gone, or the file system refuses: a stray temporary file at most.
  }
}

/** Creates `file` (flag `wx`: it must not exist), writes all of `data` and fsyncs it. */
function writeSynced(file: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = fs.openSync(file, 'wx', 0o666);
  try {
    let offset = 0;
    while (offset < bytes.length) offset += fs.writeSync(fd, bytes, offset, bytes.length - offset);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Fsyncs a folder, so that names created or renamed in it are durable (a no-op where folders cannot be fsynced). */
export function syncFolder(folder: string, argument: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(folder, 'r');
    fs.fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Windows and some file systems cannot open or fsync folders: nothing more can be done there.
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF' && code !== 'ENOTSUP') throw outputError(argument, path.join(folder, '.'), e);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Writes `data` to `file` atomically: into a temporary file in the same folder, fsynced, then renamed over
 * `file` (and the folder fsynced). A crash or a full disk leaves the old file or the new one, never a part of
 * either; a symbolic link at `file` is replaced, not followed. Failures are {@link OutputError}s.
 */
export function writeAtomic(file: string, data: string | Uint8Array, o: WriteOptions): void {
  const tmp = temporary(file);
  try {
    writeSynced(tmp, data);
    fs.renameSync(tmp, file);
  } catch (e) {
    removeQuietly(tmp);
    throw outputError(o.argument, file, e, o.hint);
  }
  if (o.syncFolder !== false) syncFolder(path.dirname(file), o.argument);
}

const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

/**
 * Creates `file` with `data` only if no file of that name exists, atomically: the data goes to a fsynced
 * temporary file that is then hard-linked to `file` (`link` fails if `file` exists, so of several processes
 * exactly one succeeds, and `file` is never seen half written). Where hard links are not supported, `file` is
 * created with `O_EXCL` instead. Returns false if `file` existed.
 */
export function createExclusive(file: string, data: string | Uint8Array, o: WriteOptions): boolean {
  const tmp = temporary(file);
  try {
    writeSynced(tmp, data);
    try {
      fs.linkSync(tmp, file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (!code || !NO_HARD_LINKS.has(code)) throw e;
      try {
        writeSynced(file, data);
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e2;
      }
    }
  } catch (e) {
    throw outputError(o.argument, file, e, o.hint);
  } finally {
    removeQuietly(tmp);
  }
  if (o.syncFolder !== false) syncFolder(path.dirname(file), o.argument);
  return true;
}

/** A file or folder the command reads, which no output may overwrite. */
export interface ReadPath {
  readonly path: string;
  /** How messages name it, e.g. `the --input #1 file` or `the model`. */
  readonly what: string;
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

/** The read path that is the same file or folder as `info` (same device and inode: any spelling, symlinks and hard links alike). */
function sameAs(info: fs.Stats, reads: readonly ReadPath[]): ReadPath | undefined {
  return reads.find((r) => {
    const s = statOrUndefined(r.path);
    return s !== undefined && s.dev === info.dev && s.ino === info.ino;
  });
}

function checkWritableFolder(folder: string, argument: string, given: string, expected: string): void {
  try {
    fs.accessSync(folder, fs.constants.W_OK);
  } catch (e) {
    throw new ArgumentError(argument, expected, `'${given}' (the folder '${folder}' is not writable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/**
 * Checks, before any work, that `file` can be written as an output: its folder exists and is writable, it
 * is not a folder, and it is not one of the files the command reads (compared by device and inode, so
 * `./m.onnx`, `m.onnx`, a symbolic link and a hard link to it all count). Refusals are ArgumentErrors
 * naming `argument`.
 */
export function checkOutputFile(file: string, argument: string, reads: readonly ReadPath[]): void {
  const resolved = path.resolve(file);
  const info = statOrUndefined(resolved);
  if (info?.isDirectory()) throw new ArgumentError(argument, 'a file path', `'${file}' (a folder)`);
  const folder = path.dirname(resolved);
  const folderInfo = statOrUndefined(folder);
  if (!folderInfo) throw new ArgumentError(argument, 'a file in an existing folder', `'${file}' (there is no folder '${path.dirname(file)}')`);
  if (!folderInfo.isDirectory()) throw new ArgumentError(argument, 'a file in an existing folder', `'${file}' ('${path.dirname(file)}' is not a folder)`);
  checkWritableFolder(folder, argument, file, 'a file in a writable folder');
  const clash = info && sameAs(info, reads);
  if (clash) throw new ArgumentError(argument, 'a file path outside the model and inputs', `'${file}' (${clash.what})`);
}

/** The formats each picture flag writes, by file extension (lower case, without the dot). */
export const OUTPUT_FORMATS: Readonly<Record<string, readonly string[]>> = {
  '--heatmap': ['png'],
  '--plot': ['svg'],
  '--seq-plot': ['svg'],
  '--html': ['html', 'htm'],
};

/**
 * A picture output whose file name does not end in a format its flag writes (`--heatmap out.jpg`): the format
 * is taken from the extension, and only those in {@link OUTPUT_FORMATS} are written.
 */
export class OutputFormatError extends ArgumentError {
  /** The extension given, lower case without the dot; `''` for a name without one. */
  readonly extension: string;
  /** The extensions the flag writes. */
  readonly supported: readonly string[];

  constructor(argument: string, file: string, extension: string, supported: readonly string[]) {
    super(
      argument,
      `a file name ending in ${supported.map((e) => `.${e}`).join(' or ')} (the formats ${argument} writes: ${supported[0]?.toUpperCase()})`,
      `'${file}' (${extension ? `.${extension}` : 'no extension'})`,
      `Other formats are not supported; convert the ${supported[0]?.toUpperCase()} file if you need one.`,
      'ERR_OUTPUT_FORMAT',
    );
    this.extension = extension;
    this.supported = supported;
  }
}

/** Checks that `file` names a format `argument` writes (see {@link OUTPUT_FORMATS}); flags without formats (`--out`) take any name. */
export function checkOutputFormat(file: string, argument: string): void {
  const supported = OUTPUT_FORMATS[argument];
  if (!supported) return;
  const extension = path.extname(file).slice(1).toLowerCase();
  if (!supported.includes(extension)) throw new OutputFormatError(argument, file, extension, supported);
}

/** Checks that no two outputs are the same file (by their resolved folder and name). */
export function checkDistinctOutputs(outputs: readonly { readonly file: string; readonly argument: string }[]): void {
  const seen = new Map<string, string>();
  for (const { file, argument } of outputs) {
    const resolved = path.resolve(file);
    let key = resolved;
    try {
      key = path.join(fs.realpathSync(path.dirname(resolved)), path.basename(resolved));
    } catch {
      // The folder was checked to exist; keep the resolved path if it vanished meanwhile.
    }
    const other = seen.get(key);
    if (other) throw new ArgumentError(argument, `a file other than the ${other} file`, `'${file}'`);
    seen.set(key, argument);
  }
}

/**
 * Checks, before any work, that `folder` can hold results: a writable folder, or a path where one can be
 * created (its nearest existing parent is a writable folder), that is not one of the folders or files the
 * command reads.
 */
export function checkOutputFolder(folder: string, argument: string, reads: readonly ReadPath[]): void {
  const resolved = path.resolve(folder);
  const info = statOrUndefined(resolved);
  if (info) {
    if (!info.isDirectory()) {
      const clash = sameAs(info, reads);
      throw new ArgumentError(argument, 'a folder for the results', `'${folder}' (a file${clash ? `: ${clash.what}` : ''})`);
    }
    const clash = sameAs(info, reads);
    if (clash) throw new ArgumentError(argument, 'a folder other than the model and inputs', `'${folder}' (${clash.what})`);
    checkWritableFolder(resolved, argument, folder, 'a writable folder');
    return;
  }
  let parent = path.dirname(resolved);
  let parentInfo = statOrUndefined(parent);
  while (!parentInfo && path.dirname(parent) !== parent) {
    parent = path.dirname(parent);
    parentInfo = statOrUndefined(parent);
  }
  if (!parentInfo?.isDirectory()) throw new ArgumentError(argument, 'a folder, or a path where one can be created', `'${folder}' ('${parent}' is not a folder)`);
  checkWritableFolder(parent, argument, folder, 'a folder, or a path where one can be created');
}

/**
 * Checks a command's one `--out` file before any work (see {@link checkOutputFile}): it may not overwrite the
 * model or an input. `-` (standard output) and no file pass.
 */
export function checkJsonOut(out: string | undefined, modelPath: string, inputs: readonly string[]): void {
  if (out === undefined || out === '-') return;
  const reads: ReadPath[] = [{ path: modelPath, what: 'the model' }, ...inputs.map((f, i) => ({ path: f, what: `the --input #${i + 1} file` }))];
  checkOutputFile(out, '--out', reads);
  checkOutputFormat(out, '--out');
}
