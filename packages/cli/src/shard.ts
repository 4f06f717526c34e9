import { ArgumentError } from '@attribution/tensor';

/** Where this process's shard came from: the `--shard` text, or the scheduler variables `--shard auto` read. */
export interface Shard {
  readonly index: number;
  readonly count: number;
  /** `--shard 2/8`, or the variables read, e.g. `SLURM_ARRAY_TASK_ID=4, SLURM_ARRAY_TASK_MIN=2, SLURM_ARRAY_TASK_COUNT=8`. */
  readonly source: string;
}

/**
 * The batch engines `--shard auto` knows, in the order they are tried: the variable that gives this process's index
 * and the one that gives the number of shards (when the engine sets one). `ATTRIBUTION_SHARD_INDEX` and
 * `ATTRIBUTION_SHARD_COUNT` are set by hand, or from a GitHub Actions matrix (`strategy.job-index`,
 * `strategy.job-total`). A Kubernetes Indexed Job sets only the index (`JOB_COMPLETION_INDEX`): give the count as
 * `--shard auto/N` or `ATTRIBUTION_SHARD_COUNT` (the Job's `completions`).
 */
export const SHARD_VARIABLES: readonly { readonly engine: string; readonly index: string; readonly count?: string }[] = [
  { engine: 'set by hand, or a GitHub Actions matrix', index: 'ATTRIBUTION_SHARD_INDEX', count: 'ATTRIBUTION_SHARD_COUNT' },
  { engine: 'Slurm job array', index: 'SLURM_ARRAY_TASK_ID', count: 'SLURM_ARRAY_TASK_COUNT' },
  { engine: 'AWS Batch array job', index: 'AWS_BATCH_JOB_ARRAY_INDEX', count: 'AWS_BATCH_JOB_ARRAY_SIZE' },
  { engine: 'Kubernetes Indexed Job', index: 'JOB_COMPLETION_INDEX' },
];

const nonNegative = (v: string | undefined): number | undefined => (v !== undefined && /^\s*\d+\s*$/.test(v) ? Number(v) : undefined);

/**
 * Parses `--shard`: `k/n` (0 ≤ k < n), or `auto` / `auto/n`, which read this process's index (and the number of
 * shards) from the variables of the batch engine that started it (see {@link SHARD_VARIABLES}). Slurm's task ids
 * run from `SLURM_ARRAY_TASK_MIN` in steps of `SLURM_ARRAY_TASK_STEP` (`--array=1-8`, `--array=0-14:2`): the index is
 * the task's position among them.
 */
export function parseShard(text: string | undefined, env: NodeJS.ProcessEnv = process.env): Shard {
  if (text === undefined) return { index: 0, count: 1, source: 'no --shard' };
  const t = text.trim();
  const auto = /^auto(?:\/(\d+))?$/.exec(t);
  if (!auto) {
    const m = /^(\d+)\/(\d+)$/.exec(t);
    const index = Number(m?.[1]);
    const count = Number(m?.[2]);
    if (!m || count < 1 || index >= count) throw new ArgumentError('--shard', 'k/n with 0 ≤ k < n (e.g. 0/4), or auto (the index and count from the batch engine: Slurm, AWS Batch, a Kubernetes Indexed Job, ATTRIBUTION_SHARD_INDEX/COUNT)', `'${text}'`);
    return { index, count, source: `--shard ${t}` };
  }
  const given = auto[1] !== undefined ? Number(auto[1]) : undefined;
  for (const v of SHARD_VARIABLES) {
    const raw = env[v.index];
    if (raw === undefined || raw === '') continue;
    let index = nonNegative(raw);
    if (index === undefined) throw new ArgumentError('--shard auto', `${v.index} (${v.engine}) to be an integer ≥ 0`, `'${raw}'`);
    const read = [`${v.index}=${raw.trim()}`];
    if (v.index === 'SLURM_ARRAY_TASK_ID') {
      const min = nonNegative(env.SLURM_ARRAY_TASK_MIN) ?? 0;
      const step = nonNegative(env.SLURM_ARRAY_TASK_STEP) ?? 1;
      if (env.SLURM_ARRAY_TASK_MIN !== undefined) read.push(`SLURM_ARRAY_TASK_MIN=${min}`);
      if (step > 1) read.push(`SLURM_ARRAY_TASK_STEP=${step}`);
      if (index < min || (index - min) % Math.max(1, step) !== 0) throw new ArgumentError('--shard auto', `SLURM_ARRAY_TASK_ID to be SLURM_ARRAY_TASK_MIN + a multiple of SLURM_ARRAY_TASK_STEP`, read.join(', '));
      index = (index - min) / Math.max(1, step);
    }
    // An engine that sets no count (a Kubernetes Indexed Job) takes ATTRIBUTION_SHARD_COUNT.
    const countName = v.count ?? 'ATTRIBUTION_SHARD_COUNT';
    const countRaw = env[countName];
    const fromEnv = countRaw !== undefined && countRaw !== '' ? nonNegative(countRaw) : undefined;
    if (countRaw !== undefined && countRaw !== '' && (fromEnv === undefined || fromEnv < 1)) throw new ArgumentError('--shard auto', `${countName} to be an integer ≥ 1`, `'${countRaw}'`);
    if (fromEnv !== undefined) read.push(`${countName}=${fromEnv}`);
    if (given !== undefined && fromEnv !== undefined && given !== fromEnv) throw new ArgumentError('--shard', `the count of --shard auto/${given} to agree with ${countName}`, `${fromEnv}`);
    const count = given ?? fromEnv;
    if (count === undefined) {
      throw new ArgumentError('--shard auto', `the number of shards: ${v.engine} sets only ${v.index}`, read.join(', '), `Give it as --shard auto/N or in ATTRIBUTION_SHARD_COUNT (for a Kubernetes Indexed Job: its completions).`);
    }
    if (count < 1 || index >= count) throw new ArgumentError('--shard auto', `an index below the number of shards (${count})`, read.join(', '));
    return { index, count, source: read.join(', ') };
  }
  const list = SHARD_VARIABLES.map((v) => `${v.index}${v.count ? ` and ${v.count}` : ''} (${v.engine})`).join('; ');
  throw new ArgumentError('--shard auto', `the shard index in the environment: ${list}`, 'none of them set', 'Outside a batch engine, give --shard k/n.');
}
