// Read latency: autocannon (in a process of its own) with 50 connections against
// GET /api/ledger/changesets/:id (a 5-item change-set) and GET /api/ledger/changesets?limit=50, with
// 1,000 change-sets in the database; p50 and p99. The one change-set is a hot key (the issue's
// ratio is of it); GET /changesets/:id over every one of the 1,000 (each request the next id,
// lib/walk-ids.ts) is the figure beside it, with no row read twice in a row. A one-connection run of each gives the service
// time without queueing. GET /healthz (no authentication, no database) under the same load is the
// reference: the most requests per second this machine serves through Node's HTTP server and
// Fastify with autocannon beside them, so the latency floor of any route. Run:
// node --import tsx bench/read-latency.bench.ts (READ_VIEW_CACHE_BYTES sets cache.view_bytes, for A/B runs)
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Engine } from '../src/engine/engine.js';
import { buildApp } from '../src/http/app.js';
import { migrate } from '../src/store/migrator.js';
import { openPgDb } from '../src/store/pg-db.js';
import { cpuBetween, cpuSnapshot } from './lib/cpu.js';
import { createDatabase } from './lib/database.js';
import { benchEngineConfig, changeSetBody, createClientPrincipals } from './lib/fixture.js';
import { machine, QUICK, round, writeResult } from './lib/results.js';

const run = promisify(execFile);
const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
const WALK = fileURLToPath(new URL('./lib/walk-ids.ts', import.meta.url));
const CONNECTIONS = 50;
const SECONDS = QUICK ? 3 : 10;
const CHANGE_SETS = QUICK ? 200 : 1_000;
const POOL = 10; // the default database.pool_max
const TARGET_P99_MS = 20;
/** The reference route: no authentication, no database. */
const REFERENCE = 'GET /healthz (reference: no auth, no database)';
/** The same route over every change-set in turn, not one hot row. */
const MANY = `GET /changesets/:id (${CHANGE_SETS.toLocaleString('en-US')} ids in turn)`;

interface Autocannon {
  latency: { p50: number; p99: number; average: number; max: number };
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

async function autocannon(url: string, token: string, connections: number, seconds: number): Promise<Autocannon> {
  const { stdout } = await run(
    process.execPath,
    [AUTOCANNON, '-j', '-c', String(connections), '-d', String(seconds), '-H', `authorization=Bearer ${token}`, url],
    { maxBuffer: 64 * 2 ** 20 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Autocannon;
}

/** autocannon over `paths` (base + each), every request the next path (lib/walk-ids.ts). */
async function walk(base: string, paths: string[], token: string, connections: number, seconds: number) {
  const child = run(process.execPath, ['--import', 'tsx', WALK, base, token, String(connections), String(seconds)], {
    maxBuffer: 64 * 2 ** 20,
  });
  child.child.stdin?.end(JSON.stringify(paths));
  const { stdout } = await child;
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Autocannon;
}

async function seed(engine: Engine, count: number) {
  const [who] = await createClientPrincipals(engine, 1, 'read');
  const agent = (await engine.principal(who!.agent))!;
  let next = 0;
  const ids: string[] = [];
  const worker = async () => {
    for (let n = next++; n < count; n = next++) {
      ids[n] = (await engine.create(agent, changeSetBody(`READ-${n}`, who!.approver, 5))).id;
    }
  };
  await Promise.all(Array.from({ length: POOL }, worker));
  return { token: who!.agentToken, id: ids[0]!, ids };
}

async function main(): Promise<void> {
  const fresh = await createDatabase('read');
  const db = await openPgDb({ connectionString: fresh.url, max: POOL });
  const routes: Record<string, unknown> = {};
  try {
    await migrate(db);
    const cacheBytes = process.env['READ_VIEW_CACHE_BYTES'];
    const engine = new Engine({
      db,
      config: benchEngineConfig(),
      ...(cacheBytes === undefined ? {} : { viewCacheBytes: Number(cacheBytes) }),
    });
    const { token, id, ids } = await seed(engine, CHANGE_SETS);
    await db.query('ANALYZE');
    const app = await buildApp({ engine, logger: false });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      // The reference right after the single change-set: the two halves of their ratio back to back.
      const targets = {
        'GET /changesets/:id': `${base}/api/ledger/changesets/${id}`,
        [REFERENCE]: `${base}/healthz`,
        [MANY]: ids.map((each) => `/api/ledger/changesets/${each}`),
        'GET /changesets?limit=50': `${base}/api/ledger/changesets?limit=50`,
      };
      for (const [route, target] of Object.entries(targets)) {
        const load = (connections: number, seconds: number) =>
          typeof target === 'string'
            ? autocannon(target, token, connections, seconds)
            : walk(base, target, token, connections, seconds);
        await load(CONNECTIONS, QUICK ? 1 : 2); // warm-up: JIT, plans, connections
        const single = await load(1, QUICK ? 2 : 5);
        const before = cpuSnapshot([], fresh.name);
        const from = Number(process.hrtime.bigint() / 1000n);
        const loaded = await load(CONNECTIONS, SECONDS);
        const to = Number(process.hrtime.bigint() / 1000n);
        const cpu = cpuBetween(before, cpuSnapshot([], fresh.name));
        const result = {
          connections: CONNECTIONS,
          seconds: SECONDS,
          p50_ms: loaded.latency.p50,
          p99_ms: loaded.latency.p99,
          mean_ms: loaded.latency.average,
          max_ms: loaded.latency.max,
          requests_per_second: loaded.requests.average,
          non_2xx: loaded.non2xx,
          errors: loaded.errors + loaded.timeouts,
          // Little's law: in a closed loop, mean latency ≈ connections ÷ throughput.
          littles_law_mean_ms: round((CONNECTIONS / loaded.requests.average) * 1000, 2),
          one_connection: {
            p50_ms: single.latency.p50,
            p99_ms: single.latency.p99,
            requests_per_second: single.requests.average,
          },
          cpu: { server_cores: cpu.self_cores, postgres_cores: cpu.postgres_cores, machine: cpu.machine },
          // Cores busy × 1,000 ÷ requests per second: what one request costs, less noisy than throughput.
          cpu_ms_per_request: {
            server: round((cpu.self_cores * 1000) / loaded.requests.average, 3),
            postgres: round(((cpu.postgres_database_cores ?? cpu.postgres_cores) * 1000) / loaded.requests.average, 3),
          },
          target_p99_ms: route === REFERENCE ? null : TARGET_P99_MS,
          meets_target: route === REFERENCE ? null : loaded.latency.p99 <= TARGET_P99_MS,
          // process.hrtime in µs, the clock of CPU profiles: the loaded run's window.
          window_monotonic_us: { from, to },
        };
        routes[route] = result;
        console.log(
          `${route}: p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms ${
            result.meets_target === null
              ? '(reference, no target)'
              : `(target ≤ ${TARGET_P99_MS} ms: ${result.meets_target ? 'met' : 'NOT met'})`
          }, ` +
            `${result.requests_per_second} req/s, ${result.non_2xx} non-2xx; one connection p50 ${single.latency.p50} ms, p99 ${single.latency.p99} ms; ` +
            `server ${cpu.self_cores} cores, postgres ${cpu.postgres_cores}; per request ` +
            `server ${result.cpu_ms_per_request.server} ms, postgres ${result.cpu_ms_per_request.postgres} ms; ` +
            `load average ${loadavg()[0]?.toFixed(2)}`,
        );
      }
    } finally {
      await app.close();
    }
  } finally {
    await db.close();
    await fresh.drop();
  }
  writeResult('read-latency', {
    benchmark: 'read latency',
    measured: `autocannon, ${CONNECTIONS} connections, ${SECONDS} s per route, ${CHANGE_SETS} change-sets of 5 items in the database, pool of ${POOL}`,
    routes,
    target_p99_ms: TARGET_P99_MS,
    notes: [
      'autocannon runs in its own process; the server in this one, logger off',
      'cpu: cores busy during the loaded run',
    ],
    machine: machine(),
    date: new Date().toISOString(),
  });
}

await main();
