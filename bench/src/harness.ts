import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

/** One reported figure: the measured value, the baseline measured in the same run, and the goal. */
export interface Figure {
  readonly value: number;
  readonly unit: string;
  readonly goal?: string;
  readonly note?: string;
}

/** Median of samples (the machine is shared and noisy: medians, not means). */
export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

/** Prints a table and writes bench/results/<name>.json with the figures and the machine. */
export function report(name: string, metrics: Record<string, Figure>, extra: Record<string, unknown> = {}): void {
  const rows = Object.entries(metrics).map(([key, f]) => [key, formatNumber(f.value), f.unit, f.goal ?? '', f.note ?? '']);
  const header = ['metric', 'value', 'unit', 'goal', 'note'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ');
  process.stdout.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of rows) process.stdout.write(`${line(row.map(String))}\n`);
  const dir = join(__dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const result = {
    name,
    recordedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, f]) => [k, f.value])),
    details: metrics,
    ...extra,
  };
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\nwrote bench/results/${name}.json\n`);
}

function formatNumber(value: number): string {
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(3);
}
