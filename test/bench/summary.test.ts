// The bench summary's verdicts: each ratio of two figures from one run, PASS at or above its target,
// MISS below it or when a half is missing; the figures say which numbers they divide and the load.
import { describe, expect, it } from 'vitest';
import { type Figure, figuresOf, markdownTable, ratioOf, textTable, verdict } from '../../bench/summary.js';

const machine = (load: number) => ({ machine: { load_average: [load, 1, 1] } });

const results: Record<string, Record<string, unknown>> = {
  'lifecycle-postgres': {
    clients: 16,
    steps_per_second: 1600,
    pgbench: { tps: 3000, cpu_ms_per_transaction: { postgres_backends: 0.47, pgbench: 0.1 } },
    cpu_ms_per_step: { server: 1.2, postgres_bench_backends: 0.9 },
    ...machine(2.5),
  },
  'lifecycle-pglite': { clients: 16, steps_per_second: 1200, ...machine(3.1) },
  'read-latency': {
    routes: {
      'GET /changesets/:id': { connections: 50, requests_per_second: 3000, p50_ms: 1, p99_ms: 30, target_p99_ms: 20 },
      'GET /healthz (reference: no auth, no database)': {
        connections: 50,
        requests_per_second: 15000,
        p50_ms: 1,
        p99_ms: 2,
        target_p99_ms: null,
      },
    },
    ...machine(4),
  },
  'scale-out': {
    clients: 16,
    runs: [
      { instances: 1, steps_per_second: 300, cpu_ms_per_step: { servers: 2, postgres_bench_backends: 2.5 } },
      { instances: 2, steps_per_second: 380, cpu_ms_per_step: { servers: 2.1, postgres_bench_backends: 2.4 } },
    ],
    postgres_cpu_ms_per_step: 2.45,
    cluster_bound: { database_cores: 32, steps_per_second: 13061 },
  },
};
const read = (name: string) => results[name] ?? null;
const figure = (figures: Figure[], start: string) => figures.find((f) => f.name.startsWith(start));

describe('ratioOf', () => {
  it('passes at and above the minimum, misses below it', () => {
    expect(ratioOf(50, 100, 0.5)).toEqual({ value: 0.5, pass: true });
    expect(ratioOf(81, 100, 0.8)).toEqual({ value: 0.81, pass: true });
    expect(ratioOf(499, 1000, 0.5)).toEqual({ value: 0.499, pass: false });
  });
  it('misses, with no value, when a half is missing or the denominator is zero', () => {
    expect(ratioOf(null, 100, 0.5)).toEqual({ value: null, pass: false });
    expect(ratioOf(10, undefined, 0.5)).toEqual({ value: null, pass: false });
    expect(ratioOf(10, 0, 0.5)).toEqual({ value: null, pass: false });
  });
});

describe('figuresOf: the ratios', () => {
  const figures = figuresOf(read, false);

  it('judges each ratio against its target, naming the two figures it divides', () => {
    const lifecycle = figure(figures, 'lifecycle steps/s ÷ pgbench')!;
    expect(lifecycle).toMatchObject({ group: 'ratios', value: 0.533, target: '≥ 0.5', pass: true, load: '2.5' });
    expect(lifecycle.name).toContain('1,600 ÷ 3,000');
    const embedded = figure(figures, 'PGlite lifecycle ÷ PostgreSQL')!;
    expect(embedded).toMatchObject({ value: 0.75, target: '≥ 0.8', pass: false, load: '3.1 / 2.5' });
    const reads = figure(figures, 'GET /changesets/:id ÷ GET /healthz')!;
    expect(reads).toMatchObject({ value: 0.2, target: '≥ 0.4', pass: false, load: '4' });
    expect(verdict(lifecycle)).toBe('PASS');
    expect(verdict(embedded)).toBe('MISS');
  });

  it('puts CPU per step beside pgbench CPU per transaction, without a target', () => {
    expect(figure(figures, 'CPU per lifecycle step: Node')).toMatchObject({ value: 1.2, pass: null });
    expect(figure(figures, 'CPU per lifecycle step: PostgreSQL')).toMatchObject({ value: 0.9, pass: null });
    expect(figure(figures, 'CPU per pgbench -N transaction')).toMatchObject({ value: 0.47, pass: null });
    // (0.47 + 0.1) ÷ (1.2 + 0.9): what the ratio would be were both runs bound by CPU alone.
    expect(figure(figures, 'CPU-bound equivalent')).toMatchObject({ value: 0.271, target: null, pass: null });
  });

  it('reports every ratio as a MISS when its results are missing', () => {
    const none = figuresOf(() => null, false).filter((f) => f.target !== null && f.group === 'ratios');
    expect(none).toHaveLength(3);
    for (const f of none) expect(f).toMatchObject({ value: null, pass: false });
  });

  it('lists the scale-out throughput per instance count and the cluster bound', () => {
    expect(figure(figures, '2 instances, 16 clients: throughput')).toMatchObject({ value: 380 });
    expect(figure(figures, 'steps/s a 32-core PostgreSQL')).toMatchObject({ value: 13061 });
  });

  it('prints the verdict beside the target in both tables', () => {
    const text = textTable(figures);
    expect(text).toMatch(/PGlite lifecycle ÷ PostgreSQL lifecycle.*0\.75 ×\s+≥ 0\.8\s+MISS\s+load 3\.1 \/ 2\.5/);
    const md = markdownTable({
      command: 'npm run bench',
      quick: false,
      finished_at: '2026-12-03T00:00:00Z',
      machine: { cpus: 2, memory_mb: 1, node: 'v20', cpu_model: 'x', load_average: [1, 1, 1] },
      postgresql: { version: 'PostgreSQL 15', settings: {} },
      figures,
      runs: [],
    });
    expect(md).toMatch(/\| ratios \| lifecycle steps\/s ÷ pgbench -N TPS.* \| 0\.533 × \| ≥ 0\.5 \| PASS \| 2\.5 \|/);
  });
});
