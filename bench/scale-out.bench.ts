// Scale-out: the lifecycle of lifecycle.bench.ts (BENCH_CLIENTS clients, default 16, looping
// create → submit → approve → apply) against 1, 2 and 3 server instances (BENCH_INSTANCES), each a
// process of its own (scale-out-server.ts) on one PostgreSQL database, the clients dealt
// round-robin across the instances. Per instance count: steps/s, the CPU per step of the server
// processes together and of the database's PostgreSQL backends, and how busy the machine was.
// PostgreSQL CPU per step is what bounds a cluster: a database with K cores carries at most
// K ÷ (PostgreSQL CPU per step) steps/s, however many instances stand in front of it.
// Run: node --import tsx bench/scale-out.bench.ts
import { type ChildProcess, fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { Engine } from '../src/engine/engine.js';
import { migrate } from '../src/store/migrator.js';
import { openPgDb } from '../src/store/pg-db.js';
import { createDatabase } from './lib/database.js';
import { driveLifecycle } from './lib/drive.js';
import { benchEngineConfig, createClientPrincipals } from './lib/fixture.js';
import { machine, QUICK, round, writeResult } from './lib/results.js';

const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 16);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? (QUICK ? 3 : 20));
const WARM_UP_SECONDS = QUICK ? 1 : 3;
const ITEMS = 5;
const INSTANCES = (process.env['BENCH_INSTANCES'] ?? '1,2,3').split(',').map(Number);
/** The database a cluster would run on, for the bound the docs compute. */
export const CLUSTER_DATABASE_CORES = 32;

function startServer(url: string, pool: number): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(new URL('./scale-out-server.ts', import.meta.url), [url, String(pool)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message: { type: string; url: string }) => resolve({ child, url: message.url }));
    child.once('exit', (code) => reject(new Error(`a server instance exited with ${code} before it listened`)));
  });
}

function stopServer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.send({ type: 'stop' });
  });
}

async function runInstances(instances: number) {
  const fresh = await createDatabase(`scaleout_${instances}`);
  const servers: ChildProcess[] = [];
  try {
    const admin = await openPgDb({ connectionString: fresh.url, max: 2 });
    let clients: Awaited<ReturnType<typeof createClientPrincipals>>;
    try {
      await migrate(admin);
      clients = await createClientPrincipals(new Engine({ db: admin, config: benchEngineConfig() }), CLIENTS);
    } finally {
      await admin.close();
    }
    // Each instance's pool holds a connection for each of its clients, plus two (as lifecycle.bench.ts).
    const pool = Math.ceil(CLIENTS / instances) + 2;
    const started = await Promise.all(Array.from({ length: instances }, () => startServer(fresh.url, pool)));
    servers.push(...started.map((s) => s.child));
    const load_before = loadavg()[0]!;
    const { result, cpu, activity } = await driveLifecycle(
      {
        urls: started.map((s) => s.url),
        clients,
        warmupMs: WARM_UP_SECONDS * 1000,
        measureMs: SECONDS * 1000,
        items: ITEMS,
        tag: `SO${instances}${Date.now().toString(36)}`,
      },
      { fresh, serverPids: servers.map((s) => s.pid!) },
    );
    const seconds = result.window_ms / 1000;
    const serverCores = cpu ? servers.reduce((sum, s) => sum + (cpu.other_cores[s.pid!] ?? 0), 0) : null;
    const perStep = (cores: number | null | undefined) =>
      cores == null || result.steps === 0 ? null : round((cores * result.window_ms) / result.steps, 3);
    return {
      instances,
      pool_per_instance: pool,
      steps: result.steps,
      steps_per_second: round(result.steps / seconds, 1),
      errors: result.errors,
      error_samples: result.error_samples,
      latency_ms: result.latency_ms,
      cores: cpu && {
        servers: round(serverCores!, 2),
        postgres_all: cpu.postgres_cores,
        postgres_bench_backends: cpu.postgres_database_cores,
        machine_busy: cpu.machine?.busy_cores ?? null,
        machine_available: cpu.machine?.cores_available ?? null,
      },
      cpu_ms_per_step: cpu && {
        servers: perStep(serverCores),
        postgres_bench_backends: perStep(cpu.postgres_database_cores),
        postgres_all: perStep(cpu.postgres_cores),
      },
      pg_activity: activity,
      load_average_1m: { before: round(load_before, 2), after: round(loadavg()[0]!, 2) },
    };
  } finally {
    await Promise.all(servers.map(stopServer));
    await fresh.drop();
  }
}

async function main(): Promise<void> {
  const runs = [];
  for (const n of INSTANCES) {
    const run = await runInstances(n);
    runs.push(run);
    console.log(
      `scale-out ${n} instance(s), ${CLIENTS} clients, ${SECONDS} s: ${run.steps_per_second} steps/s, ${run.errors} errors; ` +
        `cores: servers ${run.cores?.servers}, postgres backends ${run.cores?.postgres_bench_backends}, machine ${run.cores?.machine_busy}/${run.cores?.machine_available}; ` +
        `CPU per step (ms): servers ${run.cpu_ms_per_step?.servers}, postgres ${run.cpu_ms_per_step?.postgres_bench_backends}; ` +
        `load ${run.load_average_1m.before} → ${run.load_average_1m.after}`,
    );
    if (run.error_samples.length) console.log(`  errors, e.g.: ${run.error_samples.join('\n    ')}`);
  }
  // PostgreSQL CPU per step: the mean over the instance counts (it should not depend on them).
  const pgMs = runs
    .map((r) => r.cpu_ms_per_step?.postgres_bench_backends)
    .filter((ms): ms is number => typeof ms === 'number' && ms > 0);
  const postgresMsPerStep = pgMs.length ? round(pgMs.reduce((a, b) => a + b, 0) / pgMs.length, 3) : null;
  const result = {
    benchmark: 'scale-out: the lifecycle across server instances on one PostgreSQL',
    measured: `${CLIENTS} clients dealt round-robin across 1..${Math.max(...INSTANCES)} server processes (buildApp + listen, an Engine each), each looping create → submit → approve → apply on a ${ITEMS}-item change-set; ${SECONDS} s after a ${WARM_UP_SECONDS} s warm-up per instance count, a fresh database each`,
    clients: CLIENTS,
    seconds: SECONDS,
    machine_cores: cpus().length,
    runs,
    postgres_cpu_ms_per_step: postgresMsPerStep,
    cluster_bound:
      postgresMsPerStep === null
        ? null
        : {
            database_cores: CLUSTER_DATABASE_CORES,
            steps_per_second: Math.round((CLUSTER_DATABASE_CORES * 1000) / postgresMsPerStep),
            assumption:
              'PostgreSQL CPU per step stays what it is here (mean over the instance counts, bench-database backends only), the database cores are all busy with backends, and neither WAL fsync, locks nor the network bind first',
          },
    notes: [
      'servers: separate processes on this machine; their CPU is summed',
      'postgres_bench_backends: the backends connected to the bench database (the pg_stat_activity sampler included); postgres_all: every PostgreSQL process on the machine, other users of a shared machine included',
      'on a 2-core machine the instances, the clients and PostgreSQL share two cores: throughput stops growing when the machine is busy, not only when PostgreSQL is',
    ],
    machine: machine(),
    date: new Date().toISOString(),
  };
  writeResult('scale-out', result);
  console.log(
    `scale-out: ${runs.map((r) => `${r.instances} → ${r.steps_per_second} steps/s`).join(', ')}; PostgreSQL CPU per step ${postgresMsPerStep} ms → a ${CLUSTER_DATABASE_CORES}-core database carries at most ${result.cluster_bound?.steps_per_second} steps/s`,
  );
}

await main();
