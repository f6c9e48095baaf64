// Overload: many more clients than pool connections against one server on PostgreSQL, with and
// without admission control (server.max_in_flight / server.admission_wait_ms), run back to back.
// BENCH_OVERLOAD_CLIENTS clients (default 200) each loop create → submit → approve → apply
// (overload-clients.ts) and retry a 503/429 after its Retry-After with the same Idempotency-Key; the
// server's pool has POOL connections and the default 5 s wait for one. The variants alternate
// (A B C A B C …) so that a busy machine slows them alike: compare them by ratio, run by run.
// Per run: steps/s, p50/p99 of single answers (successes, 503s), p50/p99 of a step from its first
// attempt to its success, and the 503s by code. Run: node --import tsx bench/overload.bench.ts
// BENCH_OVERLOAD_VARIANTS: comma-separated `off` or `<max_in_flight>:<admission_wait_ms>`.
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { Engine } from '../src/engine/engine.js';
import { buildApp } from '../src/http/app.js';
import { migrate } from '../src/store/migrator.js';
import { openPgDb } from '../src/store/pg-db.js';
import { createDatabase } from './lib/database.js';
import { benchEngineConfig, createClientPrincipals } from './lib/fixture.js';
import { machine, QUICK, round, writeResult } from './lib/results.js';
import type { OverloadResult, OverloadStart } from './overload-clients.js';

const CLIENTS = Number(process.env['BENCH_OVERLOAD_CLIENTS'] ?? (QUICK ? 60 : 200));
const POOL = 10; // the default database.pool_max
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? (QUICK ? 4 : 15));
const WARM_UP_SECONDS = QUICK ? 1 : 3;
const ROUNDS = Number(process.env['BENCH_OVERLOAD_ROUNDS'] ?? (QUICK ? 1 : 2));
const VARIANTS = (process.env['BENCH_OVERLOAD_VARIANTS'] ?? 'off,10:1000,32:1000').split(',').map((text) => {
  if (text === 'off') return { name: 'pool wait only', admission: undefined };
  const [maxInFlight, waitMs] = text.split(':').map(Number) as [number, number];
  return { name: `max_in_flight ${maxInFlight}, wait ${waitMs} ms`, admission: { maxInFlight, waitMs } };
});

function drive(start: Omit<OverloadStart, 'type'>): Promise<OverloadResult> {
  const child = fork(new URL('./overload-clients.ts', import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.on('message', (message: { type: string }) => {
      if (message.type === 'result') resolve(message as OverloadResult);
    });
    child.on('exit', (code) => reject(new Error(`the clients exited with ${code} before reporting`)));
    child.send({ type: 'start', ...start } satisfies OverloadStart);
  });
}

/** `changeledger_overloaded_total` by stage, from the app's /metrics. */
async function shedByStage(app: Awaited<ReturnType<typeof buildApp>>): Promise<Record<string, number>> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^changeledger_overloaded_total\{stage="(\w+)"\} (\d+)/gm))
    counts[match[1]!] = Number(match[2]);
  return counts;
}

async function main(): Promise<void> {
  const fresh = await createDatabase('overload');
  const db = await openPgDb({ connectionString: fresh.url, max: POOL });
  const runs: Record<string, unknown>[] = [];
  try {
    await migrate(db);
    const engine = new Engine({ db, config: benchEngineConfig() });
    const clients = await createClientPrincipals(engine, CLIENTS, 'overload');
    for (let r = 0; r < ROUNDS; r++) {
      for (const [v, variant] of VARIANTS.entries()) {
        const app = await buildApp({
          engine,
          logger: false,
          ...(variant.admission ? { admission: variant.admission } : {}),
        });
        const url = await app.listen({ host: '127.0.0.1', port: 0 });
        const load = loadavg()[0]!;
        try {
          const result = await drive({
            url,
            clients,
            warmupMs: WARM_UP_SECONDS * 1000,
            measureMs: SECONDS * 1000,
            tag: `r${r}v${v}`,
          });
          const row = {
            round: r + 1,
            variant: variant.name,
            steps_per_s: round(result.steps / (result.window_ms / 1000), 1),
            success_p50_ms: result.success_ms.p50,
            success_p99_ms: result.success_ms.p99,
            step_p50_ms: result.step_ms.p50,
            step_p99_ms: result.step_ms.p99,
            step_max_ms: result.step_ms.max,
            shed: result.shed_ms.count,
            shed_p50_ms: result.shed_ms.p50,
            shed_p99_ms: result.shed_ms.p99,
            answers: result.answers,
            shed_by_stage: await shedByStage(app),
            load_average_1m: round(load),
            error_samples: result.error_samples,
          };
          runs.push(row);
          console.log(JSON.stringify(row));
        } finally {
          await app.close();
        }
      }
    }
  } finally {
    await db.close();
    await fresh.drop();
  }
  // Each admission variant against the pool-only run of the same round.
  const ratios = runs
    .filter((run) => run['variant'] !== VARIANTS[0]!.name)
    .map((run) => {
      const base = runs.find((b) => b['round'] === run['round'] && b['variant'] === VARIANTS[0]!.name)!;
      const ratio = (key: string) => round(Number(run[key]) / Number(base[key]), 2);
      return {
        round: run['round'],
        variant: run['variant'],
        against: base['variant'],
        steps_per_s: ratio('steps_per_s'),
        success_p99_ms: ratio('success_p99_ms'),
        step_p50_ms: ratio('step_p50_ms'),
        step_p99_ms: ratio('step_p99_ms'),
      };
    });
  console.table(ratios);
  writeResult('overload', {
    measured_at: new Date().toISOString(),
    machine: machine(),
    clients: CLIENTS,
    pool: POOL,
    pool_wait_ms: 5000,
    seconds_per_run: SECONDS,
    workload: 'create → submit → approve → apply per client, 5 items; 503/429 retried after Retry-After (×0.5–1.5)',
    runs,
    ratios,
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
