/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median time of `fn` in milliseconds over `runs` runs after `warmup` untimed ones. */
export async function timeMedian(fn: () => Promise<void>, runs: number, warmup = 0): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

/**
 * Times `fn` `runs` times after `warmup` untimed runs, interleaving with `reference` so that both see the
 * same machine load; returns the medians in milliseconds.
 */
export async function timePair(
  fn: () => Promise<void>,
  reference: () => Promise<void>,
  runs: number,
  warmup = 2,
): Promise<{ subject: number; reference: number; ratio: number }> {
  for (let i = 0; i < warmup; i++) {
    await fn();
    await reference();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    await fn();
    a.push(performance.now() - t);
    t = performance.now();
    await reference();
    b.push(performance.now() - t);
  }
  const subject = median(a);
  const ref = median(b);
  return { subject, reference: ref, ratio: subject / ref };
}

/**
 * Times several functions in turn, `runs` rounds after `warmup` rounds, so they share the machine's load;
 * returns the median time of one call in milliseconds. With `block` > 1 each function runs `block` times
 * back to back per round (the mean is one sample): short calls then see warm caches, not the other
 * function's memory.
 */
export async function timeInterleaved(fns: readonly (() => Promise<void>)[], runs: number, warmup = 1, block = 1): Promise<number[]> {
  for (let w = 0; w < warmup; w++) for (const fn of fns) for (let b = 0; b < block; b++) await fn();
  const times = fns.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < fns.length; i++) {
      const fn = fns[i] as () => Promise<void>;
      const t = performance.now();
      for (let b = 0; b < block; b++) await fn();
      (times[i] as number[]).push((performance.now() - t) / block);
    }
  }
  return times.map(median);
}
