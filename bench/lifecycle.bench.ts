// Lifecycle throughput over HTTP: C clients (BENCH_CLIENTS, default 16), each looping
// create → submit → approve → apply on a 5-item change-set that needs one approval, against a real
// server (buildApp + listen, Engine on a pool sized for the clients). On PostgreSQL, pgbench -N with
// the same client count runs right after on the same server: steps/s ÷ pgbench TPS is the figure.
// Run: node --import tsx bench/lifecycle.bench.ts [postgres|pglite]
// What-ifs (PostgreSQL, not part of `npm run bench`), BENCH_WHAT_IF=a,b on the bench database only:
//   no-notify     the outbox NOTIFY trigger disabled
//   async-commit  synchronous_commit = off
//   generic-plans plan_cache_mode = force_generic_plan (no statement planned again per call)
//   no-status-indexes  change_sets' two indexes on status dropped (then its transitions can be HOT)
//   fillfactor    change_sets at fillfactor 70 (room on the page for a HOT update)
// BENCH_POOL sets the server's pool size (default: clients + 2).
// BENCH_PGLITE_THREAD (pglite): `worker` (the default, as database.embedded_thread) or `server`, PGlite
// on the server's own thread; the latter's result is written as lifecycle-pglite-thread-server.
import { Engine } from '../src/engine/engine.js';
import { buildApp } from '../src/http/app.js';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrator.js';
import { openPgDb } from '../src/store/pg-db.js';
import { openPgliteDb } from '../src/store/pglite-db.js';
import { openPgliteWorkerDb } from '../src/store/pglite-worker-db.js';
import { createDatabase, type FreshDatabase } from './lib/database.js';
import { driveLifecycle } from './lib/drive.js';
import { benchEngineConfig, createClientPrincipals } from './lib/fixture.js';
import { runPgbench } from './lib/pgbench.js';
import { machine, QUICK, round, writeResult } from './lib/results.js';
import { DROP_STATUS_INDEXES, FILLFACTOR_70 } from './lib/status-indexes.js';
import type { ClientsStart } from './lifecycle-clients.js';

const TARGET_RATIO = 0.5;
const backend = process.argv[2] === 'pglite' ? 'pglite' : 'postgres';
const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 16);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? (QUICK ? 3 : 20));
const WARM_UP_SECONDS = QUICK ? 1 : 3;
const ITEMS = 5;
// One connection per client, plus the authentication lookups that run outside a transaction.
const POOL = Number(process.env['BENCH_POOL'] ?? CLIENTS + 2);
const WHAT_IF = (process.env['BENCH_WHAT_IF'] ?? '').split(',').filter(Boolean).sort();
const PGLITE_THREAD = process.env['BENCH_PGLITE_THREAD'] === 'server' ? 'server' : 'worker';
const RESULT_NAME = `lifecycle-${backend}${WHAT_IF.length ? `-what-if-${WHAT_IF.join('-')}` : ''}${
  backend === 'pglite' && PGLITE_THREAD === 'server' ? '-thread-server' : ''
}`;

async function openDb(): Promise<{ db: Db; fresh: FreshDatabase | null }> {
  if (backend === 'pglite')
    return { db: await (PGLITE_THREAD === 'worker' ? openPgliteWorkerDb() : openPgliteDb()), fresh: null };
  const fresh = await createDatabase('lifecycle');
  const settings = [
    ...(WHAT_IF.includes('async-commit') ? ['synchronous_commit = off'] : []),
    ...(WHAT_IF.includes('generic-plans') ? ['plan_cache_mode = force_generic_plan'] : []),
  ];
  if (settings.length > 0) {
    const admin = await openPgDb({ connectionString: fresh.url, max: 1 });
    for (const setting of settings) await admin.query(`ALTER DATABASE ${fresh.name} SET ${setting}`);
    await admin.close();
  }
  return { db: await openPgDb({ connectionString: fresh.url, max: POOL }), fresh };
}

/** Updates and HOT updates per table the lifecycle updates (the whole run, warm-up included). */
async function hotUpdates(db: Db): Promise<Record<string, { updates: number; hot: number }>> {
  await db.query('SELECT pg_stat_force_next_flush()');
  const { rows } = await db.query<{ relname: string; n_tup_upd: string; n_tup_hot_upd: string }>(
    'SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE n_tup_upd > 0 ORDER BY relname',
  );
  return Object.fromEntries(
    rows.map((r) => [r.relname, { updates: Number(r.n_tup_upd), hot: Number(r.n_tup_hot_upd) }]),
  );
}

/** Runs the clients; the CPU used and what PostgreSQL did in the measured window. */
async function drive(url: string, fresh: FreshDatabase | null, start: Omit<ClientsStart, 'type' | 'urls'>) {
  const {
    result,
    window_monotonic_us,
    activity,
    cpu: c,
    clients_pid,
  } = await driveLifecycle({ urls: [url], ...start }, { fresh });
  return {
    result,
    window_monotonic_us,
    activity,
    cpu: c && {
      window_ms: c.wall_ms,
      server_cores: c.self_cores,
      server_threads: c.threads,
      clients_cores: c.other_cores[clients_pid] ?? null,
      postgres_cores: c.postgres_cores,
      postgres_bench_backends_cores: c.postgres_database_cores,
      machine: c.machine,
    },
  };
}

async function measure() {
  const { db, fresh } = await openDb();
  try {
    await migrate(db);
    if (WHAT_IF.includes('no-notify')) await db.query('ALTER TABLE outbox_events DISABLE TRIGGER outbox_events_notify');
    if (WHAT_IF.includes('no-status-indexes')) await db.exec(DROP_STATUS_INDEXES);
    if (WHAT_IF.includes('fillfactor')) await db.exec(FILLFACTOR_70);
    const engine = new Engine({ db, config: benchEngineConfig() });
    const clients = await createClientPrincipals(engine, CLIENTS);
    const app = await buildApp({ engine, logger: false });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const driven = await drive(url, fresh, {
        clients,
        warmupMs: WARM_UP_SECONDS * 1000,
        measureMs: SECONDS * 1000,
        items: ITEMS,
        tag: `LC${Date.now().toString(36)}`,
      });
      return { ...driven, hot: fresh ? await hotUpdates(db) : null };
    } finally {
      await app.close();
    }
  } finally {
    await db.close();
    await fresh?.drop();
  }
}

async function main(): Promise<void> {
  const { result, cpu, activity, window_monotonic_us, hot } = await measure();
  const stepsPerSecond = round(result.steps / (result.window_ms / 1000), 1);
  let pgbenchError: string | null = null;
  const pgbench =
    backend === 'postgres'
      ? await runPgbench(CLIENTS, SECONDS).catch((error: unknown) => {
          // No pgbench on this machine (or it failed): the lifecycle figure stands, the ratio is n/a.
          pgbenchError = error instanceof Error ? error.message : String(error);
          console.error(`pgbench failed: ${pgbenchError}`);
          return null;
        })
      : null;
  const ratio = pgbench ? round(stepsPerSecond / pgbench.tps, 3) : null;
  const perStep = (cores: number | null | undefined) =>
    cores == null || result.steps === 0 ? null : round((cores * result.window_ms) / result.steps, 3);
  const summary = {
    benchmark: `lifecycle throughput over HTTP (${backend})`,
    backend,
    what_if: WHAT_IF,
    unit: 'lifecycle steps/s',
    measured: `${CLIENTS} clients, each looping create → submit → approve → apply on a ${ITEMS}-item change-set needing one approval`,
    clients: CLIENTS,
    pool: backend === 'postgres' ? POOL : null,
    pglite_thread: backend === 'pglite' ? PGLITE_THREAD : null,
    warm_up_seconds: WARM_UP_SECONDS,
    seconds: SECONDS,
    steps: result.steps,
    lifecycles: result.lifecycles,
    steps_per_second: stepsPerSecond,
    lifecycles_per_second: round(result.lifecycles / (result.window_ms / 1000), 1),
    errors: result.errors,
    error_samples: result.error_samples,
    latency_ms: result.latency_ms,
    pgbench,
    pgbench_error: pgbenchError,
    ratio_to_pgbench: ratio,
    target_ratio: backend === 'postgres' ? TARGET_RATIO : null,
    meets_target: ratio === null ? null : ratio >= TARGET_RATIO,
    cpu,
    cpu_ms_per_step: cpu && {
      server: perStep(cpu.server_cores),
      server_main_thread: perStep(cpu.server_threads.main_cores),
      server_busiest_other_thread: perStep(cpu.server_threads.busiest_other_cores),
      clients: perStep(cpu.clients_cores),
      postgres_all: perStep(cpu.postgres_cores),
      postgres_bench_backends: perStep(cpu.postgres_bench_backends_cores),
    },
    pg_activity: activity,
    hot_updates: hot,
    window_monotonic_us,
    notes: [
      'server: buildApp + listen on 127.0.0.1, logger off, no event feed or dispatcher running',
      'clients: a separate Node process, one kept-alive node:http connection per client',
      "cpu: cores busy during the measured window (Linux /proc); server_threads splits the server's process: its main thread (HTTP), its busiest other thread (PGlite's worker, when it has one) and the rest (V8's and libuv's helpers); postgres_cores counts every PostgreSQL process on the machine, postgres_bench_backends_cores only the backends of the bench database",
      'pg_activity: pg_stat_activity of the bench database sampled every 25 ms in the window',
    ],
    machine: machine(),
    date: new Date().toISOString(),
  };
  writeResult(RESULT_NAME, summary);
  console.log(
    `lifecycle (${backend}${backend === 'pglite' ? ` on the ${PGLITE_THREAD} thread` : ''}${WHAT_IF.length ? `, what-if ${WHAT_IF.join(' + ')}` : ''}, ${CLIENTS} clients, ${SECONDS} s): ` +
      `${stepsPerSecond} steps/s, ${summary.lifecycles_per_second} lifecycles/s, ${result.errors} errors` +
      (pgbench
        ? `; pgbench -N ${pgbench.tps} tps → ratio ${ratio} (target ≥ ${TARGET_RATIO}: ${summary.meets_target ? 'met' : 'NOT met'})`
        : ''),
  );
  if (cpu)
    console.log(
      `  cpu (cores): server ${cpu.server_cores}, clients ${cpu.clients_cores}, postgres ${cpu.postgres_cores} ` +
        `(bench backends ${cpu.postgres_bench_backends_cores}), machine ${cpu.machine?.busy_cores}/${cpu.machine?.cores_available}; ` +
        `per step (ms): ${JSON.stringify(summary.cpu_ms_per_step)}`,
    );
  if (hot)
    console.log(
      `  updates (HOT): ${Object.entries(hot)
        .map(([t, u]) => `${t} ${u.updates} (${u.hot})`)
        .join(', ')}`,
    );
  if (activity) console.log(`  postgres backends (mean ${activity.mean_backends}): ${JSON.stringify(activity.share)}`);
  for (const [name, l] of Object.entries(result.latency_ms)) console.log(`  ${name}: p50 ${l.p50} ms, p99 ${l.p99} ms`);
  if (result.error_samples.length) console.log(`  errors, e.g.: ${result.error_samples.join('\n    ')}`);
}

await main();
