import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from './run.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const model = path.join(here, '../../conformance/fixtures/real/digits_cnn.onnx');
const digit = path.join(here, '../examples/digit-3.npy');

/** A fresh folder holding copies of the model and the input (so that a wrong write cannot damage the fixtures). */
function workspace(): { dir: string; onnx: string; input: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attribution-outputs-'));
  const onnx = path.join(dir, 'm.onnx');
  const input = path.join(dir, 'x.npy');
  fs.copyFileSync(model, onnx);
  fs.copyFileSync(digit, input);
  return { dir, onnx, input };
}

/** `explain` with IG on the copied model and input, plus `extra`, run from `cwd`. */
async function explain(cwd: string, ...extra: string[]): Promise<{ code: number; out: string; err: string }> {
  const before = process.cwd();
  process.chdir(cwd);
  try {
    return await run('explain', 'm.onnx', '--method', 'integrated-gradients', '--input', 'x.npy', '--target', '3', '--options', '{"nSteps":4}', ...extra);
  } finally {
    process.chdir(before);
  }
}

const leftovers = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('explain checks its outputs before any work', () => {
  it('refuses --out in a missing folder or onto a folder with a typed one-line error, without computing', async () => {
    const { dir } = workspace();
    const missing = await explain(dir, '--out', 'nowhere/r.json');
    expect(missing.code).toBe(1);
    expect(missing.err).toBe("attribution: --out: expected a file in an existing folder, got 'nowhere/r.json' (there is no folder 'nowhere').\n");
    fs.mkdirSync(path.join(dir, 'results'));
    const folder = await explain(dir, '--out', 'results');
    expect(folder.err).toBe("attribution: --out: expected a file path, got 'results' (a folder).\n");
    for (const flag of ['--heatmap', '--plot', '--html']) {
      const r = await explain(dir, flag, 'nowhere/picture');
      expect(r.err, flag).toMatch(new RegExp(`^attribution: ${flag}: expected a file in an existing folder, got 'nowhere/picture'`));
    }
    // A bad output is found before the model is even loaded: a model that is not ONNX is not reported.
    fs.writeFileSync(path.join(dir, 'bad.onnx'), 'not a model');
    const before = process.cwd();
    process.chdir(dir);
    try {
      const r = await run('explain', 'bad.onnx', '--method', 'saliency', '--input', 'x.npy', '--target', '3', '--out', 'results');
      expect(r.err).toMatch(/^attribution: --out: expected a file path/);
    } finally {
      process.chdir(before);
    }
  });

  it('refuses an output that is the model or an input, however it is spelt (./, absolute, symlink, hard link)', async () => {
    const { dir, onnx, input } = workspace();
    const original = { model: fs.readFileSync(onnx), input: fs.readFileSync(input) };
    fs.symlinkSync(onnx, path.join(dir, 'link.onnx'));
    fs.linkSync(input, path.join(dir, 'hard.npy'));
    const cases: [string[], string][] = [
      [['--out', 'x.npy'], "--out: expected a file path outside the model and inputs, got 'x.npy' (the --input #1 file)."],
      [['--out', './x.npy'], "--out: expected a file path outside the model and inputs, got './x.npy' (the --input #1 file)."],
      [['--out', input], `--out: expected a file path outside the model and inputs, got '${input}' (the --input #1 file).`],
      [['--out', 'hard.npy'], "--out: expected a file path outside the model and inputs, got 'hard.npy' (the --input #1 file)."],
      [['--out', 'link.onnx'], "--out: expected a file path outside the model and inputs, got 'link.onnx' (the model)."],
      [['--heatmap', './m.onnx'], "--heatmap: expected a file path outside the model and inputs, got './m.onnx' (the model)."],
      [['--out', 'r.json', '--plot', './r.json'], "--plot: expected a file other than the --out file, got './r.json'."],
    ];
    for (const [flags, message] of cases) {
      const r = await explain(dir, ...flags);
      expect(r.code, flags.join(' ')).toBe(1);
      expect(r.err).toBe(`attribution: ${message}\n`);
    }
    expect(fs.readFileSync(onnx).equals(original.model)).toBe(true);
    expect(fs.readFileSync(input).equals(original.input)).toBe(true);
  });
});

describe('explain-dataset checks its results folder before any work', () => {
  it('refuses a file, an input folder or an unwritable place as --out, naming it', async () => {
    const { dir, input } = workspace();
    const folder = path.join(dir, 'inputs');
    fs.mkdirSync(folder);
    fs.copyFileSync(input, path.join(folder, 'a.npy'));
    const cases: [string, string, string][] = [
      [input, input, `--out: expected a folder for the results, got '${input}' (a file: the --inputs #1 file).`],
      [folder, folder, `--out: expected a folder other than the model and inputs, got '${folder}' (the --inputs #1 folder).`],
      [folder, path.join(input, 'results'), `--out: expected a folder, or a path where one can be created, got '${path.join(input, 'results')}' ('${input}' is not a folder).`],
    ];
    for (const [inputs, out, message] of cases) {
      const r = await run('explain-dataset', path.join(dir, 'm.onnx'), '--inputs', inputs, '--method', 'saliency', '--target', '3', '--out', out);
      expect(r.err, out).toBe(`attribution: ${message}\n`);
      expect(fs.existsSync(path.join(folder, 'manifest.json'))).toBe(false);
    }
  });
});

describe('explain writes its outputs atomically', () => {
  it('writes through a temporary file in the same folder, fsynced, then renamed: no temporary file is left, a symlink is replaced', async () => {
    const { dir } = workspace();
    const elsewhere = path.join(dir, 'elsewhere.json');
    fs.writeFileSync(elsewhere, 'keep me');
    fs.symlinkSync(elsewhere, path.join(dir, 'r.json'));
    const fsyncs = vi.spyOn(fs, 'fsyncSync');
    const renames = vi.spyOn(fs, 'renameSync');
    const r = await explain(dir, '--out', 'r.json', '--heatmap', 'h.png');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // The symlink itself was replaced by the new file; what it pointed to is untouched.
    expect(fs.lstatSync(path.join(dir, 'r.json')).isFile()).toBe(true);
    expect(fs.readFileSync(elsewhere, 'utf8')).toBe('keep me');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8')).method).toBe('integrated-gradients');
    expect(leftovers(dir)).toEqual([]);
    // Each output: its temporary file renamed from the same folder, the file and the folder fsynced.
    const renamed = renames.mock.calls.map(([from, to]) => [path.dirname(String(from)) === path.dirname(String(to)), path.basename(String(from)).endsWith('.tmp'), path.basename(String(to))]);
    expect(renamed).toEqual([
      [true, true, 'h.png'],
      [true, true, 'r.json'],
    ]);
    expect(fsyncs.mock.calls.length).toBeGreaterThanOrEqual(4);
  });

  it('a failed write (disk full) keeps the previous file whole, removes its temporary file and says which folder', async () => {
    const { dir } = workspace();
    fs.writeFileSync(path.join(dir, 'r.json'), 'previous result');
    vi.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    const r = await explain(dir, '--out', 'r.json');
    expect(r.code).toBe(1);
    expect(r.err).toBe(`attribution: --out: could not write 'r.json' in the folder '${fs.realpathSync(dir)}' (ENOSPC: no space left on the device).\n`);
    expect(fs.readFileSync(path.join(dir, 'r.json'), 'utf8')).toBe('previous result');
    expect(leftovers(dir)).toEqual([]);
  });
});
