// Scale: 1,000, 10,000 and 20,000-item change-sets (BENCH_QUICK: 500, 1,000, 2,000), each size in
// a fresh process (scale-child.ts) and a fresh database: time of create, plan, submit, approve,
// ATOMIC apply, rollback, and peak RSS; growth factors from 10k to 20k. Each size runs
// BENCH_SCALE_REPEATS times (3; quick 1), the sizes interleaved so that a burst of load on a shared
// machine hits them alike; times are medians, peak RSS the highest.
// Run: node --import tsx bench/scale.bench.ts  (BENCH_PROFILE=1 profiles the first run of each size)
import { fork } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDatabase } from './lib/database.js';
import { machine, QUICK, RESULTS_DIR, round, writeResult } from './lib/results.js';
import { mainThreadProfile, summariseProfile } from './profile-summary.js';
import type { Phase } from './scale-child.js';

const SIZES = QUICK ? [500, 1_000, 2_000] : [1_000, 10_000, 20_000];
const [, MIDDLE, LARGEST] = SIZES as [number, number, number];
const TARGETS = { apply_10k_ms: 3_000, growth: 2.2, max_rss_20k_mb: 512 };
const PROFILE = process.env['BENCH_PROFILE'] === '1';
const REPEATS = Number(process.env['BENCH_SCALE_REPEATS'] ?? (QUICK ? 1 : 3));

interface SizeResult {
  items: number;
  phases: Phase[];
  max_rss_mb: number;
  max_rss_before_body_mb: number;
  request_json_mb: number;
  /** Each run's time per phase, when the size ran more than once. */
  runs_ms?: Record<string, number[]>;
}

async function runSize(n: number, profile: boolean): Promise<SizeResult> {
  const fresh = await createDatabase(`scale_${n}`);
  try {
    const profileDir = fileURLToPath(new URL(`profiles/scale-${n}/`, RESULTS_DIR));
    if (profile) {
      rmSync(profileDir, { recursive: true, force: true });
      mkdirSync(profileDir, { recursive: true });
    }
    const child = fork(new URL('./scale-child.ts', import.meta.url), [String(n), fresh.url], {
      execArgv: ['--import', 'tsx', ...(profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return await new Promise<SizeResult>((resolve, reject) => {
      let result: SizeResult | null = null;
      child.on('message', (message) => {
        result = message as SizeResult;
      });
      child.on('exit', (code) => (result ? resolve(result) : reject(new Error(`scale ${n} exited with ${code}`))));
    });
  } finally {
    await fresh.drop();
  }
}

/** The size's profile cut to each phase: where create, apply and rollback spend their time. */
function writeProfileSummary(size: SizeResult): void {
  const dir = new URL('profiles/', RESULTS_DIR);
  const file = mainThreadProfile(fileURLToPath(new URL(`scale-${size.items}/`, dir)));
  if (!file) return;
  const phases = Object.fromEntries(
    size.phases
      .filter((p) => ['create', 'plan', 'apply ATOMIC', 'rollback'].includes(p.name))
      .map((p) => [p.name, summariseProfile(file, 15, { from: p.from_us, to: p.to_us })]),
  );
  writeFileSync(new URL(`scale-${size.items}-summary.json`, dir), `${JSON.stringify(phases, null, 2)}\n`);
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : round((sorted[mid - 1]! + sorted[mid]!) / 2, 1);
};

/** One result per size from its runs: the median of every per-phase number, the highest peak RSS. */
function combine(runs: SizeResult[]): SizeResult {
  if (runs.length === 1) return runs[0]!;
  const [first] = runs as [SizeResult];
  const of = (name: string) => runs.map((r) => r.phases.find((p) => p.name === name)!);
  return {
    ...first,
    phases: first.phases.map((phase) => {
      const all = of(phase.name);
      return {
        ...phase,
        ms: median(all.map((p) => p.ms)),
        node_cpu_ms: median(all.map((p) => p.node_cpu_ms)),
        postgres_cpu_ms: median(all.map((p) => p.postgres_cpu_ms)),
        round_trips: median(all.map((p) => p.round_trips)),
      };
    }),
    max_rss_mb: Math.max(...runs.map((r) => r.max_rss_mb)),
    runs_ms: Object.fromEntries(first.phases.map((p) => [p.name, of(p.name).map((q) => q.ms)])),
  };
}

const cpuMs = (size: SizeResult, name: string) => {
  const phase = size.phases.find((p) => p.name === name);
  return phase ? phase.node_cpu_ms + phase.postgres_cpu_ms : Number.NaN;
};
const phaseMs = (size: SizeResult, name: string) => size.phases.find((p) => p.name === name)?.ms ?? Number.NaN;
const workMs = (size: SizeResult) =>
  size.phases.filter((p) => !['build body', 'get'].includes(p.name)).reduce((sum, p) => sum + p.ms, 0);

async function main(): Promise<void> {
  const runs = new Map<number, SizeResult[]>(SIZES.map((n) => [n, []]));
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    for (const n of SIZES) {
      const size = await runSize(n, PROFILE && repeat === 0);
      runs.get(n)!.push(size);
      console.log(
        `scale ${n} items, run ${repeat + 1}/${REPEATS}: ${size.phases.map((p) => `${p.name} ${p.ms} ms (node ${p.node_cpu_ms}, pg ${p.postgres_cpu_ms})`).join(', ')}; peak RSS ${size.max_rss_mb} MB`,
      );
      if (PROFILE && repeat === 0) writeProfileSummary(size);
    }
  }
  const sizes = SIZES.map((n) => combine(runs.get(n)!));
  const mid = sizes.find((s) => s.items === MIDDLE)!;
  const large = sizes.find((s) => s.items === LARGEST)!;
  const growth = Object.fromEntries(mid.phases.map((p) => [p.name, round(phaseMs(large, p.name) / p.ms, 2)])) as Record<
    string,
    number
  >;
  const totalGrowth = round(workMs(large) / workMs(mid), 2);
  const apply10k = phaseMs(mid, 'apply ATOMIC');
  const result = {
    benchmark: 'scale',
    measured: `one N-item change-set (CREATE items on fresh targets) through the Engine on PostgreSQL, each size in a fresh process and database, ${REPEATS} run(s) per size: median times, highest peak RSS`,
    repeats: REPEATS,
    sizes: sizes.map((s) => ({ ...s, work_ms: round(workMs(s), 1) })),
    [`apply_${MIDDLE}_ms`]: apply10k,
    growth_factor: {
      sizes: `${LARGEST}/${MIDDLE}`,
      apply: growth['apply ATOMIC'],
      total: totalGrowth,
      by_phase: growth,
      max_rss: round(large.max_rss_mb / mid.max_rss_mb, 2),
      // CPU is steadier than wall time on a shared machine: Node + PostgreSQL CPU of the apply.
      apply_cpu: round(cpuMs(large, 'apply ATOMIC') / cpuMs(mid, 'apply ATOMIC'), 2),
    },
    [`max_rss_${LARGEST}_mb`]: large.max_rss_mb,
    targets: TARGETS,
    quick: QUICK,
    meets_target: QUICK
      ? null
      : {
          apply_10k: apply10k <= TARGETS.apply_10k_ms,
          growth: growth['apply ATOMIC']! <= TARGETS.growth && totalGrowth <= TARGETS.growth,
          max_rss_20k: large.max_rss_mb <= TARGETS.max_rss_20k_mb,
        },
    notes: [
      'work_ms = create + plan + submit + approve + apply + rollback (building the request body and the final get excluded)',
      "peak RSS is process.resourceUsage().maxRSS of the size's own process, which also builds the request body",
      'through the Engine directly: no HTTP parsing, schema validation or response serialisation',
    ],
    machine: machine(),
    date: new Date().toISOString(),
  };
  writeResult('scale', result);
  console.log(
    `scale: apply ${MIDDLE} items ${apply10k} ms (target ≤ ${TARGETS.apply_10k_ms} ms), growth ${LARGEST}/${MIDDLE}: apply ${growth['apply ATOMIC']}, total ${totalGrowth} (target ≤ ${TARGETS.growth}); peak RSS at ${LARGEST} ${large.max_rss_mb} MB (target ≤ ${TARGETS.max_rss_20k_mb} MB)`,
  );
}

await main();
