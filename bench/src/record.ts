/** One measured case, as written to bench/results.json. */
export interface BenchRecord {
  readonly suite: string;
  readonly backend: string;
  readonly model: string;
  readonly method: string;
  readonly options: object;
  /** Median over the runs, in milliseconds. */
  readonly medianMs: number;
  /** What the time is compared with. */
  readonly reference: string;
  readonly referenceMs: number;
  /** medianMs / referenceMs. */
  readonly ratio: number;
  /** The ratio the issue asks for, when there is one. */
  readonly target?: string;
  readonly peakRssMb: number;
  readonly runs: number;
}

export function round(v: number, digits = 2): number {
  return Number(v.toFixed(digits));
}

export function peakRssMb(): number {
  return round(process.resourceUsage().maxRSS / 1024, 1);
}

/** Prints records as a table. */
export function printTable(title: string, records: readonly BenchRecord[]): void {
  if (!records.length) return;
  console.log(`\n${title}`);
  console.table(
    records.map((r) => ({
      backend: r.backend,
      model: r.model,
      options: JSON.stringify(r.options),
      'median ms': r.medianMs,
      reference: r.reference,
      'ref ms': r.referenceMs,
      ratio: r.ratio,
      target: r.target ?? '',
    })),
  );
}
