// `npm run bench`: every benchmark in sequence, each in a process of its own, then every figure
// beside its target. Writes bench/results/<name>.json (by each bench) and bench/results/summary.json
// and summary.md. Environment: BENCH_DATABASE_URL or TEST_DATABASE_URL (default
// postgres://root@127.0.0.1:5432/root), BENCH_CLIENTS (16), BENCH_SECONDS (20 per lifecycle run),
// BENCH_SCALE_REPEATS (3), BENCH_INSTANCES (1,2,3: the scale-out instance counts), BENCH_QUICK=1 (a
// short smoke run), BENCH_PROFILE=1 (CPU profiles of the lifecycle and read-latency servers and of
// the scale runs into bench/results/profiles/, summarised there), BENCH_ONLY=a,b (only these benches:
// pglite, lifecycle, read-latency, scale-out, round-trips, statement-cost, scale, policy, webhook,
// overload; `ratios` stands for the first four). docs/performance.md explains every figure.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASE_URL, createDatabase, dropDatabase, leftoverDatabases, RUN_ID, serverInfo } from './lib/database.js';
import { machine, QUICK, RESULTS_DIR, readResult } from './lib/results.js';
import { mainThreadProfile, summariseProfile } from './profile-summary.js';
import { type Figure, figuresOf, markdownTable, textTable } from './summary.js';

const PROFILE = process.env['BENCH_PROFILE'] === '1';
const RATIOS = ['pglite', 'lifecycle', 'read-latency', 'scale-out'];
const ONLY = (process.env['BENCH_ONLY'] ?? '')
  .split(',')
  .filter(Boolean)
  .flatMap((name) => (name === 'ratios' ? RATIOS : [name]));
const wanted = (name: string) => ONLY.length === 0 || ONLY.includes(name);
const PROFILE_DIR = fileURLToPath(new URL('profiles/', RESULTS_DIR));
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

interface BenchRun {
  name: string;
  command: string;
  exit_code: number | null;
  seconds: number;
  load_before: number[];
  load_after: number[];
}

function runChild(
  name: string,
  file: string,
  args: string[] = [],
  extra: { env?: NodeJS.ProcessEnv; execArgv?: string[] } = {},
): Promise<BenchRun> {
  const argv = ['--import', 'tsx', ...(extra.execArgv ?? []), here(file), ...args];
  const command = `node ${argv.join(' ').replace(here('./'), 'bench/')}`;
  console.log(`\n── ${name}: ${command}`);
  const started = Date.now();
  const load_before = loadavg().map((n) => Number(n.toFixed(2)));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, {
      stdio: 'inherit',
      env: { ...process.env, BENCH_RUN_ID: RUN_ID, ...extra.env },
    });
    child.on('exit', (code) => {
      const run = {
        name,
        command,
        exit_code: code,
        seconds: Math.round((Date.now() - started) / 100) / 10,
        load_before,
        load_after: loadavg().map((n) => Number(n.toFixed(2))),
      };
      if (code !== 0) console.log(`!! ${name} exited with ${code}`);
      resolve(run);
    });
  });
}

function profileArgs(name: string): string[] {
  if (!PROFILE) return [];
  rmSync(join(PROFILE_DIR, name), { recursive: true, force: true });
  return ['--cpu-prof', '--cpu-prof-dir', join(PROFILE_DIR, name)];
}

async function webhook(): Promise<BenchRun> {
  const fresh = await createDatabase('webhook');
  try {
    return await runChild('webhook delivery', 'webhook.bench.ts', [], {
      env: { TEST_DATABASE_URL: fresh.url, DATABASE_URL: '', ...(QUICK ? { BENCH_DELIVERIES: '2000' } : {}) },
    });
  } finally {
    await fresh.drop();
  }
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const postgres = await serverInfo();
  if (PROFILE) mkdirSync(PROFILE_DIR, { recursive: true });
  const runs: BenchRun[] = [];
  // The ratios first, the two halves of each back to back: PGlite's lifecycle, PostgreSQL's
  // lifecycle, then pgbench (in the same process as the PostgreSQL lifecycle); the read routes
  // and /healthz in one process; then the lifecycle across 1, 2 and 3 server instances.
  if (wanted('pglite')) runs.push(await runChild('lifecycle, PGlite', 'lifecycle.bench.ts', ['pglite']));
  if (wanted('lifecycle'))
    runs.push(
      await runChild('lifecycle, PostgreSQL', 'lifecycle.bench.ts', ['postgres'], {
        execArgv: profileArgs('lifecycle-postgres-server'),
      }),
    );
  if (wanted('read-latency'))
    runs.push(
      await runChild('read latency', 'read-latency.bench.ts', [], { execArgv: profileArgs('read-latency-server') }),
    );
  if (wanted('scale-out')) runs.push(await runChild('scale-out', 'scale-out.bench.ts'));
  if (wanted('round-trips')) runs.push(await runChild('SQL round trips', 'round-trips.bench.ts'));
  if (wanted('statement-cost')) runs.push(await runChild('statement cost', 'statement-cost.bench.ts'));
  if (wanted('scale')) runs.push(await runChild('scale', 'scale.bench.ts'));
  if (wanted('policy') && existsSync(here('policy.bench.ts')))
    runs.push(await runChild('policy evaluation', 'policy.bench.ts'));
  if (wanted('webhook') && existsSync(here('webhook.bench.ts'))) runs.push(await webhook());
  if (wanted('overload'))
    runs.push(await runChild('overload, with and without admission control', 'overload.bench.ts'));

  for (const name of await leftoverDatabases(RUN_ID)) {
    console.log(`dropping ${name}, left behind by a bench that failed`);
    await dropDatabase(name);
  }

  // Only results written by this run count: a stale file from an earlier run is no figure.
  const fresh = (name: string) => {
    const file = new URL(`${name}.json`, RESULTS_DIR);
    return existsSync(file) && statSync(file).mtimeMs >= startedAt.getTime() ? readResult(name) : null;
  };
  const figures: Figure[] = figuresOf(fresh, QUICK);
  // The lifecycle server's profile, cut to the measured window (no start-up, no pgbench).
  const serverProfile = PROFILE ? mainThreadProfile(join(PROFILE_DIR, 'lifecycle-postgres-server')) : null;
  const window = (fresh('lifecycle-postgres') as { window_monotonic_us?: { from: number; to: number } } | null)
    ?.window_monotonic_us;
  const profiles = serverProfile
    ? [{ run: 'lifecycle, PostgreSQL', ...summariseProfile(serverProfile, 30, window) }]
    : [];
  const readProfile = PROFILE ? mainThreadProfile(join(PROFILE_DIR, 'read-latency-server')) : null;
  const routes = (
    fresh('read-latency') as { routes?: Record<string, { window_monotonic_us: { from: number; to: number } }> } | null
  )?.routes;
  for (const [route, r] of Object.entries(readProfile ? (routes ?? {}) : {}))
    profiles.push({ run: `read latency, ${route}`, ...summariseProfile(readProfile!, 30, r.window_monotonic_us) });
  // The lifecycle server's profile per step: self time by area ÷ the steps of the window. A
  // profile samples wall time, so a thread waiting for a core (a busy machine) is counted where it
  // stood, mostly in writev; /proc's CPU per step is the figure to set these against.
  const steps = (fresh('lifecycle-postgres') as { steps?: number } | null)?.steps;
  const perStep =
    profiles[0] && steps
      ? profiles[0].by_area.map((a) => ({ area: a.area, ms_per_step: Math.round((a.self_ms / steps) * 1000) / 1000 }))
      : null;
  if (perStep) {
    console.log(`\nlifecycle server profile, self time per step (ms), window of ${steps} steps:`);
    console.log(
      perStep
        .slice(0, 14)
        .map((a) => `  ${a.area.padEnd(24)} ${a.ms_per_step}`)
        .join('\n'),
    );
  }
  if (PROFILE)
    writeFileSync(
      `${PROFILE_DIR}summary.json`,
      `${JSON.stringify(perStep ? [{ ...profiles[0], per_step_ms_by_area: perStep }, ...profiles.slice(1)] : profiles, null, 2)}\n`,
    );

  const summary = {
    command:
      `${[QUICK ? 'BENCH_QUICK=1' : '', ONLY.length ? `BENCH_ONLY=${ONLY.join(',')}` : ''].filter(Boolean).join(' ')} npm run bench`.trim(),
    quick: QUICK,
    run_id: RUN_ID,
    started_at: startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    database: BASE_URL.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@'),
    settings: {
      clients: Number(process.env['BENCH_CLIENTS'] ?? 16),
      lifecycle_seconds: Number(process.env['BENCH_SECONDS'] ?? (QUICK ? 3 : 20)),
    },
    machine: machine(),
    postgresql: postgres,
    figures,
    runs,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(new URL('summary.json', RESULTS_DIR), `${JSON.stringify(summary, null, 2)}\n`);
  writeFileSync(new URL('summary.md', RESULTS_DIR), markdownTable(summary));
  console.log(`\n${textTable(figures)}`);
  console.log(
    `\nmachine: ${summary.machine.cpus} CPUs, ${summary.machine.memory_mb} MB, Node ${summary.machine.node}; ` +
      `${postgres.version.split(' on ')[0]}; load average ${summary.machine.load_average.join(' ')} ` +
      `(per bench in summary.json); ${summary.finished_at}`,
  );
  console.log('written to bench/results/summary.json and bench/results/summary.md');
  if (runs.some((r) => r.exit_code !== 0)) process.exitCode = 1;
}

await main();
