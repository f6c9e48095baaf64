// Where the benchmarks write (bench/results/<name>.json) and what every result carries.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';

export const RESULTS_DIR = new URL('../results/', import.meta.url);

export const QUICK = process.env['BENCH_QUICK'] === '1';

export function writeResult(name: string, data: object): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(new URL(`${name}.json`, RESULTS_DIR), `${JSON.stringify(data, null, 2)}\n`);
}

export function readResult<T = Record<string, unknown>>(name: string): T | null {
  try {
    return JSON.parse(readFileSync(new URL(`${name}.json`, RESULTS_DIR), 'utf8')) as T;
  } catch {
    return null;
  }
}

export function machine() {
  return {
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_mb: Math.round(totalmem() / 2 ** 20),
    free_memory_mb: Math.round(freemem() / 2 ** 20),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    load_average: loadavg().map((n) => Number(n.toFixed(2))),
  };
}

/** The value at quantile q (0–1) of unsorted numbers, nearest rank. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export const round = (value: number, digits = 2): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

export function latencySummary(values: readonly number[]) {
  const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
  const q = (p: number) => {
    const v = quantile(values, p);
    return v === null ? null : round(v);
  };
  return {
    count: values.length,
    mean: mean === null ? null : round(mean),
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    max: q(1),
  };
}
