// Every figure beside its target, from the results the benches wrote: for the console and for
// bench/results/summary.md (the table docs/performance.md quotes).

export interface Figure {
  group: string;
  name: string;
  value: number | null;
  unit: string;
  target: string | null;
  /** true PASS, false MISS, null when the figure has no target (or the run was too short to judge). */
  pass: boolean | null;
  /** 1-minute load average when the result(s) behind the figure were written, e.g. "2.1" or "2.1 / 2.4". */
  load?: string | null;
}

/**
 * A ratio of two figures measured back to back in one run, judged against a minimum: PASS at or
 * above it, MISS below it or when either part is missing (no figure is no pass).
 */
export function ratioOf(
  numerator: number | null | undefined,
  denominator: number | null | undefined,
  minimum: number,
): { value: number | null; pass: boolean } {
  if (numerator == null || denominator == null || !(denominator > 0) || !Number.isFinite(numerator))
    return { value: null, pass: false };
  const value = Math.round((numerator / denominator) * 1000) / 1000;
  return { value, pass: value >= minimum };
}

/** The 1-minute load average a bench's result carries (machine.load_average, taken when it was written). */
function loadOf(...results: unknown[]): string | null {
  const loads = results.map((r) => (r as Any)?.machine?.load_average?.[0]).filter((n) => typeof n === 'number');
  return loads.length ? loads.map(String).join(' / ') : null;
}

type Read = (name: string) => Record<string, unknown> | null;
// biome-ignore lint/suspicious/noExplicitAny: results are JSON the benches wrote
type Any = any;

export function figuresOf(read: Read, quick: boolean): Figure[] {
  const figures: Figure[] = [];
  const add = (
    group: string,
    name: string,
    value: number | null | undefined,
    unit: string,
    target: string | null = null,
    pass: boolean | null = null,
    load: string | null = null,
  ) =>
    figures.push({
      group,
      name,
      value: value ?? null,
      unit,
      target,
      pass: value == null ? (target ? false : null) : pass,
      load,
    });
  const n = (value: number | null | undefined) => (value == null ? '?' : value.toLocaleString('en-US'));

  // The ratios of issue targets, each of two figures measured back to back in this run.
  const pg = read('lifecycle-postgres') as Any;
  const lite = read('lifecycle-pglite') as Any;
  const read_ = read('read-latency') as Any;
  const toPgbench = ratioOf(pg?.steps_per_second, pg?.pgbench?.tps, 0.5);
  add(
    'ratios',
    `lifecycle steps/s ÷ pgbench -N TPS, ${pg?.clients ?? '?'} clients (${n(pg?.steps_per_second)} ÷ ${n(pg?.pgbench?.tps)})`,
    toPgbench.value,
    '×',
    '≥ 0.5',
    toPgbench.pass,
    loadOf(pg),
  );
  const embedded = ratioOf(lite?.steps_per_second, pg?.steps_per_second, 0.8);
  add(
    'ratios',
    `PGlite lifecycle ÷ PostgreSQL lifecycle, ${lite?.clients ?? '?'} clients (${n(lite?.steps_per_second)} ÷ ${n(pg?.steps_per_second)} steps/s)`,
    embedded.value,
    '×',
    '≥ 0.8',
    embedded.pass,
    loadOf(lite, pg),
  );
  const routes = (read_?.routes ?? {}) as Record<string, Any>;
  const getOne = routes['GET /changesets/:id'];
  const healthz = Object.entries(routes).find(([route]) => route.startsWith('GET /healthz'))?.[1];
  const reads = ratioOf(getOne?.requests_per_second, healthz?.requests_per_second, 0.4);
  add(
    'ratios',
    `GET /changesets/:id ÷ GET /healthz throughput, ${getOne?.connections ?? '?'} conns (${n(getOne?.requests_per_second)} ÷ ${n(healthz?.requests_per_second)} req/s)`,
    reads.value,
    '×',
    '≥ 0.4',
    reads.pass,
    loadOf(read_),
  );
  // Beside it, not instead: the same route over every change-set in turn, no one row hot.
  const [manyName, many] = Object.entries(routes).find(([route]) => route.includes('ids in turn')) ?? [];
  const spread = ratioOf(many?.requests_per_second, healthz?.requests_per_second, 0.4);
  add(
    'ratios',
    `${manyName ?? 'GET /changesets/:id over many ids'} ÷ GET /healthz (${n(many?.requests_per_second)} ÷ ${n(healthz?.requests_per_second)} req/s)`,
    spread.value,
    '×',
    null,
    null,
    loadOf(read_),
  );
  add('ratios', 'CPU per lifecycle step: Node server', pg?.cpu_ms_per_step?.server, 'ms', null, null, loadOf(pg));
  add(
    'ratios',
    'CPU per lifecycle step: PostgreSQL backends',
    pg?.cpu_ms_per_step?.postgres_bench_backends,
    'ms',
    null,
    null,
    loadOf(pg),
  );
  add(
    'ratios',
    'CPU per pgbench -N transaction: PostgreSQL backends',
    pg?.pgbench?.cpu_ms_per_transaction?.postgres_backends,
    'ms',
    null,
    null,
    loadOf(pg),
  );
  // What the ratio would be were both runs bound by CPU alone: pgbench's CPU per transaction (its
  // backends and pgbench) ÷ a step's (server, clients, backends). Steadier than the measured ratio
  // when other work shares the machine: a busy scheduler favours pgbench's 16 processes over one
  // Node process. No target: the target is judged on the measured ratio.
  const stepCpu = pg?.cpu_ms_per_step;
  const txCpu = pg?.pgbench?.cpu_ms_per_transaction;
  const cpuEquivalent =
    stepCpu && txCpu
      ? ratioOf(
          txCpu.postgres_backends + txCpu.pgbench,
          stepCpu.server + (stepCpu.clients ?? 0) + stepCpu.postgres_bench_backends,
          0.5,
        ).value
      : null;
  if (stepCpu && txCpu)
    add(
      'ratios',
      'CPU-bound equivalent of steps/s ÷ TPS: pgbench CPU per transaction ÷ CPU per step (all processes)',
      cpuEquivalent,
      '×',
      null,
      null,
      loadOf(pg),
    );

  add(
    'lifecycle',
    `PostgreSQL, ${pg?.clients ?? '?'} clients`,
    pg?.steps_per_second,
    'steps/s',
    null,
    null,
    loadOf(pg),
  );
  add('lifecycle', 'pgbench -N, same clients, same server', pg?.pgbench?.tps, 'TPS', null, null, loadOf(pg));
  add(
    'lifecycle',
    `PGlite (in memory), ${lite?.clients ?? '?'} clients`,
    lite?.steps_per_second,
    'steps/s',
    null,
    null,
    loadOf(lite),
  );
  const rt = read('round-trips') as Any;
  if (rt) {
    add(
      'lifecycle',
      'SQL round trips per lifecycle (4 steps), token lookups included',
      rt?.lifecycle_round_trips,
      'round trips',
    );
    add(
      'lifecycle',
      'SQL round trips per lifecycle (4 steps), tokens cached',
      rt?.lifecycle_totals?.round_trips_min,
      'round trips',
    );
  }

  const out = read('scale-out') as Any;
  for (const run of (out?.runs ?? []) as Any[]) {
    const label = `${run.instances} instance${run.instances === 1 ? '' : 's'}, ${out.clients} clients`;
    const load = run.load_average_1m ? `${run.load_average_1m.before} / ${run.load_average_1m.after}` : null;
    add('scale-out', `${label}: throughput`, run.steps_per_second, 'steps/s', null, null, load);
    add('scale-out', `${label}: Node CPU per step (servers)`, run.cpu_ms_per_step?.servers, 'ms', null, null, load);
    add(
      'scale-out',
      `${label}: PostgreSQL CPU per step`,
      run.cpu_ms_per_step?.postgres_bench_backends,
      'ms',
      null,
      null,
      load,
    );
    add('scale-out', `${label}: machine busy`, run.cores?.machine_busy, `of ${run.cores?.machine_available} cores`);
  }
  if (out?.cluster_bound)
    add(
      'scale-out',
      `steps/s a ${out.cluster_bound.database_cores}-core PostgreSQL carries (cores ÷ ${out.postgres_cpu_ms_per_step} ms per step)`,
      out.cluster_bound.steps_per_second,
      'steps/s',
    );

  const scale = read('scale') as Any;
  for (const size of (scale?.sizes ?? []) as Any[]) {
    const ms = (phase: string) => size.phases.find((p: Any) => p.name === phase)?.ms;
    const label = size.items.toLocaleString('en-US');
    for (const phase of ['create', 'plan', 'apply ATOMIC', 'rollback'])
      add('scale', `${label} items: ${phase}`, ms(phase), 'ms');
    add('scale', `${label} items: peak RSS`, size.max_rss_mb, 'MB');
  }
  if (scale) {
    const judge = (ok: boolean) => (quick ? null : ok);
    const sizes = (scale.sizes as Any[]).map((s) => s.items);
    const [mid, large] = [sizes[1], sizes[2]];
    const apply = scale.sizes[1]?.phases.find((p: Any) => p.name === 'apply ATOMIC')?.ms;
    add('scale', `${mid.toLocaleString('en-US')}-item ATOMIC apply`, apply, 'ms', '≤ 3,000 ms', judge(apply <= 3000));
    add(
      'scale',
      `growth ${large / 1000}k/${mid / 1000}k, apply`,
      scale.growth_factor.apply,
      '×',
      '≤ 2.2',
      judge(scale.growth_factor.apply <= 2.2),
    );
    add(
      'scale',
      `growth ${large / 1000}k/${mid / 1000}k, all phases`,
      scale.growth_factor.total,
      '×',
      '≤ 2.2',
      judge(scale.growth_factor.total <= 2.2),
    );
    const rss = scale.sizes[2]?.max_rss_mb;
    add('scale', `peak RSS at ${large.toLocaleString('en-US')} items`, rss, 'MB', '≤ 512 MB', judge(rss <= 512));
  }

  for (const [route, r] of Object.entries(routes)) {
    add('read latency', `${route}, ${r.connections} conns: p50`, r.p50_ms, 'ms');
    if (r.target_p99_ms === null) add('read latency', `${route}, ${r.connections} conns: p99`, r.p99_ms, 'ms');
    else add('read latency', `${route}, ${r.connections} conns: p99`, r.p99_ms, 'ms', '≤ 20 ms', r.p99_ms <= 20);
    add('read latency', `${route}: throughput`, r.requests_per_second, 'req/s');
  }

  // Where the time goes (no targets): CPU per step under load and alone, and per statement.
  if (rt?.lifecycle_totals) {
    add('diagnostics', 'CPU per lifecycle (4 steps), 1 client: Node', rt.lifecycle_totals.node_cpu_ms, 'ms');
    add(
      'diagnostics',
      'CPU per lifecycle (4 steps), 1 client: PostgreSQL backend',
      rt.lifecycle_totals.backend_cpu_ms,
      'ms',
    );
  }
  const cost = read('statement-cost') as Any;
  for (const [name, c] of Object.entries((cost?.statements ?? {}) as Record<string, Any>))
    add(
      'diagnostics',
      `backend CPU of ${name}, prepared ÷ unnamed`,
      round2(c.prepared.backend_us / c.unnamed.backend_us),
      '×',
    );

  if (scale?.growth_factor?.apply_cpu)
    add(
      'diagnostics',
      `growth ${scale.growth_factor.sizes}, apply CPU (Node + PostgreSQL)`,
      scale.growth_factor.apply_cpu,
      '×',
    );

  const policy = read('policy') as Any;
  if (policy)
    add(
      'policy',
      'policy evaluation (10 policies, 10 items)',
      policy.evaluations_per_second,
      'evaluations/s',
      `≥ ${policy.target_per_second.toLocaleString('en-US')}/s`,
      policy.meets_target,
    );
  const webhook = read('webhook') as Any;
  if (webhook)
    add(
      'webhook',
      `webhook delivery (${webhook.backend})`,
      webhook.deliveries_per_second,
      'deliveries/s',
      `≥ ${webhook.target_per_second.toLocaleString('en-US')}/s`,
      webhook.meets_target,
    );
  return figures;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const show = (f: Figure) => (f.value === null ? 'n/a' : `${f.value.toLocaleString('en-US')} ${f.unit}`);
export const verdict = (f: Pick<Figure, 'pass'>) => (f.pass === null ? '' : f.pass ? 'PASS' : 'MISS');
const loadCell = (f: Figure) => (f.load ? `load ${f.load}` : '');

export function textTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [f.group, f.name, show(f), f.target ?? '', verdict(f), loadCell(f)]);
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i]!.length), 4));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i < 5 ? cell.padEnd(widths[i]!) : cell))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function markdownTable(summary: {
  command: string;
  quick: boolean;
  finished_at: string;
  machine: { cpus: number; memory_mb: number; node: string; cpu_model: string; load_average: number[] };
  postgresql: { version: string; settings: Record<string, string> };
  figures: Figure[];
  runs: { name: string; load_before: number[]; load_after: number[] }[];
}): string {
  const m = summary.machine;
  const lines = [
    `Produced by \`${summary.command}\` on ${summary.finished_at}${summary.quick ? ' (QUICK smoke run: short, small, not comparable with the targets)' : ''}.`,
    `Machine: ${m.cpus} × ${m.cpu_model}, ${m.memory_mb} MB, Node ${m.node}; ${summary.postgresql.version.split(' on ')[0]} ` +
      `(${Object.entries(summary.postgresql.settings)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}).`,
    `Load average (1 min) before each bench: ${summary.runs.map((r) => `${r.name} ${r.load_before[0]}`).join('; ')}.`,
    '',
    '| group | figure | measured | target | result | load (1 min) |',
    '| --- | --- | ---: | --- | --- | --- |',
    ...summary.figures.map(
      (f) => `| ${f.group} | ${f.name} | ${show(f)} | ${f.target ?? ''} | ${verdict(f)} | ${f.load ?? ''} |`,
    ),
    '',
  ];
  return lines.join('\n');
}
