import fs from 'node:fs';
import path from 'node:path';
import { ArgumentError, AttributionError } from '@attribution/tensor';
import { writeAtomic } from './output.js';
import { MANIFEST, batchName, manifestDifferences, ranges, verifyFolder, type BatchRecord, type Manifest, type VerifyReport } from './results.js';

/** What `attribution merge` found and did. */
export interface MergeReport {
  readonly manifest: Manifest;
  /** For each batch, the folder it was taken from. */
  readonly from: readonly string[];
}

/**
 * Combines the result folders of one `explain-dataset` run computed in shards (separate folders, e.g. one per
 * Slurm task or Kubernetes pod) into `out`. Every folder is verified first (manifest, records, array sizes and
 * sha256); their manifests must describe the same run (model, inputs, method, options, batch size, and for
 * stochastic methods the seed); every batch must be done in exactly one of them. Then each batch's arrays and
 * record are copied (the arrays first, each written atomically, the record last), and `out` is verified again.
 * Nothing is written when a check fails.
 */
export async function mergeFolders(dirs: readonly string[], out: string): Promise<MergeReport> {
  if (dirs.length === 0) throw new ArgumentError('<dirs…>', 'one or more result folders of explain-dataset', 'none');
  const resolvedOut = path.resolve(out);
  for (const d of dirs) {
    if (path.resolve(d) === resolvedOut) throw new ArgumentError('--out', 'a folder other than the ones merged', `'${out}', which is also an input`);
  }
  if (fs.existsSync(out) && (!fs.statSync(out).isDirectory() || fs.readdirSync(out).length > 0)) {
    throw new ArgumentError('--out', 'a new or empty folder', `'${out}', ${fs.statSync(out).isDirectory() ? 'which is not empty' : 'a file'}`);
  }
  const reports: VerifyReport[] = [];
  for (const d of dirs) {
    const r = await verifyFolder(d);
    if (r.invalid.length) {
      throw new ArgumentError('<dirs…>', 'folders whose finished batches all verify', `'${d}': ${r.invalid.map((i) => `batch ${i.batch} ${i.reason}`).join('; ')}`, 'Rerun that shard (the same command) to compute those batches again.');
    }
    reports.push(r);
  }
  const first = reports[0] as VerifyReport;
  for (const [k, r] of reports.entries()) {
    if (k === 0) continue;
    const differs = manifestDifferences(first.manifest, r.manifest);
    if (differs.length) throw new ArgumentError('<dirs…>', `folders of one run (as '${dirs[0]}')`, `'${dirs[k]}', whose run differs in ${differs.join('; ')}`);
    if ((first.manifest.seed ?? null) !== (r.manifest.seed ?? null)) {
      throw new ArgumentError(
        '<dirs…>',
        `folders of one run, with one seed (${first.manifest.seed} in '${dirs[0]}')`,
        `'${dirs[k]}' with seed ${r.manifest.seed}`,
        `Each shard drew its own seed: give every shard the same one, --options '{"seed": N}', and rerun them.`,
      );
    }
  }
  const from: string[] = [];
  const duplicates: string[] = [];
  for (const [k, r] of reports.entries()) {
    for (const b of r.done) {
      if (from[b] !== undefined) duplicates.push(`batch ${b} in '${from[b]}' and '${dirs[k]}'`);
      else from[b] = dirs[k] as string;
    }
  }
  if (duplicates.length) {
    throw new ArgumentError('<dirs…>', 'each batch in one folder only', duplicates.slice(0, 4).join('; ') + (duplicates.length > 4 ? `; … (${duplicates.length})` : ''), 'Two folders hold the same batches: two shards with one index, or a folder given twice.');
  }
  const missing = Array.from({ length: first.manifest.batches }, (_, b) => b).filter((b) => from[b] === undefined);
  if (missing.length) {
    throw new ArgumentError('<dirs…>', `folders that together hold all ${first.manifest.batches} batches`, `batch${missing.length === 1 ? '' : 'es'} ${ranges(missing)} missing (${missing.length})`, 'Run the shards that hold them (or give their folders).');
  }
  try {
    fs.mkdirSync(out, { recursive: true });
  } catch (e) {
    throw new ArgumentError('--out', 'a folder that can be created', `'${out}' (${(e as Error).message})`);
  }
  writeAtomic(path.join(out, MANIFEST), `${JSON.stringify(first.manifest, null, 2)}\n`, { argument: '--out' });
  for (let b = 0; b < first.manifest.batches; b++) {
    const src = from[b] as string;
    const recordText = fs.readFileSync(path.join(src, `${batchName(b)}.json`), 'utf8');
    const record = JSON.parse(recordText) as BatchRecord;
    for (const f of record.files) writeAtomic(path.join(out, f.name), fs.readFileSync(path.join(src, f.name)), { argument: '--out', syncFolder: false });
    writeAtomic(path.join(out, `${batchName(b)}.json`), recordText, { argument: '--out', syncFolder: false });
  }
  const check = await verifyFolder(out);
  if (check.done.length !== first.manifest.batches) {
    throw new AttributionError(`merge: '${out}' did not verify after copying (${check.invalid.length} invalid, ${check.missing.length} missing batches)`, 'ERR_INCOMPLETE');
  }
  return { manifest: first.manifest, from };
}

/** `attribution merge <dirs…> --out <dir>`: merges, then says what came from where. */
export async function mergeCommand(dirs: readonly string[], out: string, print: (text: string) => void): Promise<void> {
  const r = await mergeFolders(dirs, out);
  const m = r.manifest;
  const per = dirs.map((d) => `${d}: ${r.from.filter((f) => f === d).length}`).join(', ');
  print(`merged ${m.batches} batches (${m.examples} examples of ${m.method} on ${m.model.file}) from ${dirs.length} folder${dirs.length === 1 ? '' : 's'} into ${out} (${per})\n`);
}
