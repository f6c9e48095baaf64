// SQL round trips and CPU per transition: one client drives 5-item change-sets through the API
// (app.inject, so no network) on PostgreSQL, over a pool of one connection. Every query
// node-postgres sends (BEGIN and COMMIT included) is counted; per step we measure wall time, the
// part spent waiting for PostgreSQL, the Node process's CPU, the backend's CPU (/proc schedstat)
// and the WAL written; per statement, the backend's CPU. Alternate iterations time the statements
// one by one, the others measure the step as a whole (so the probes do not inflate Node's CPU).
// Run: node --import tsx bench/round-trips.bench.ts
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Engine } from '../src/engine/engine.js';
import { buildApp } from '../src/http/app.js';
import { migrate } from '../src/store/migrator.js';
import { openPgDb } from '../src/store/pg-db.js';
import { onCpuNs } from './lib/cpu.js';
import { createDatabase } from './lib/database.js';
import { benchEngineConfig, changeSetBody, createClientPrincipals } from './lib/fixture.js';
import { observeQueries, sqlLabel } from './lib/query-observer.js';
import { machine, QUICK, round, writeResult } from './lib/results.js';

const ITERATIONS = QUICK ? 6 : 60;
const STEPS = ['create', 'submit', 'approve', 'apply', 'get', 'list', 'plan', 'rollback'] as const;
type Step = (typeof STEPS)[number];

interface Recording {
  statements: string[];
  dbMs: number;
  /** Set in the iterations that time statements one by one. */
  perStatement: Map<string, { n: number; backendNs: number; wallMs: number }> | null;
}
let recording: Recording | null = null;
let backendPid = 0;

// Counts and times every statement of the step being recorded.
observeQueries((sql) => {
  const current = recording;
  if (!current) return undefined;
  const text = sqlLabel(sql);
  current.statements.push(text);
  const cpu0 = current.perStatement ? onCpuNs(backendPid)! : 0;
  const t0 = performance.now();
  return () => {
    const ms = performance.now() - t0;
    current.dbMs += ms;
    if (current.perStatement) {
      const entry = current.perStatement.get(text) ?? { n: 0, backendNs: 0, wallMs: 0 };
      entry.n++;
      entry.backendNs += onCpuNs(backendPid)! - cpu0;
      entry.wallMs += ms;
      current.perStatement.set(text, entry);
    }
  };
});

interface StepStats {
  round_trips: Set<number>;
  statements: string[];
  wall: number[];
  db: number[];
  nodeCpu: number[];
  backendCpu: number[];
  walBytes: number[];
  perStatement: Map<string, { n: number; backendNs: number; wallMs: number }>;
}

async function main(): Promise<void> {
  const fresh = await createDatabase('roundtrips');
  // One connection: every statement of a step runs on the backend whose CPU is read.
  const db = await openPgDb({ connectionString: fresh.url, max: 1 });
  const wal = new pg.Client({ connectionString: fresh.url });
  await wal.connect();
  const walLsn = async () =>
    (await wal.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')).rows[0]!.lsn;
  const lsnBytes = (lsn: string) => {
    const [hi, lo] = lsn.split('/').map((part) => Number.parseInt(part, 16));
    return hi! * 2 ** 32 + lo!;
  };
  const stats = new Map<Step, StepStats>();
  try {
    await migrate(db);
    backendPid = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const engine = new Engine({ db, config: benchEngineConfig() });
    const [who] = await createClientPrincipals(engine, 1, 'rt');
    const app = await buildApp({ engine, logger: false });
    await app.ready();
    let detailed = false;
    const call = async (name: Step, method: 'GET' | 'POST', url: string, token: string, payload?: object) => {
      const entry: StepStats = stats.get(name) ?? {
        round_trips: new Set(),
        statements: [],
        wall: [],
        db: [],
        nodeCpu: [],
        backendCpu: [],
        walBytes: [],
        perStatement: new Map(),
      };
      stats.set(name, entry);
      const lsn0 = lsnBytes(await walLsn());
      recording = { statements: [], dbMs: 0, perStatement: detailed ? entry.perStatement : null };
      const backend0 = onCpuNs(backendPid)!;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const response = await app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(payload ? { payload } : {}),
      });
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const backend = onCpuNs(backendPid)! - backend0;
      const seen = recording;
      recording = null;
      const walBytes = lsnBytes(await walLsn()) - lsn0;
      if (response.statusCode >= 300) throw new Error(`${name}: ${response.statusCode} ${response.body}`);
      entry.round_trips.add(seen.statements.length);
      if (entry.statements.length === 0) entry.statements = seen.statements;
      entry.walBytes.push(walBytes);
      if (!detailed) {
        entry.wall.push(wall);
        entry.db.push(seen.dbMs);
        entry.nodeCpu.push((cpu.user + cpu.system) / 1000);
        entry.backendCpu.push(backend / 1e6);
      }
      return response.json() as { id: string };
    };
    const base = '/api/ledger/changesets';
    for (let n = 0; n < ITERATIONS; n++) {
      detailed = n % 2 === 1;
      const created = await call('create', 'POST', base, who!.agentToken, changeSetBody(`RT-${n}`, who!.approver, 5));
      const path = `${base}/${created.id}`;
      await call('submit', 'POST', `${path}/submit`, who!.agentToken, {});
      await call('approve', 'POST', `${path}/approve`, who!.approverToken, { decision: 'APPROVED' });
      await call('apply', 'POST', `${path}/apply`, who!.agentToken, { mode: 'ATOMIC' });
      await call('get', 'GET', path, who!.agentToken);
      await call('list', 'GET', `${base}?limit=50`, who!.agentToken);
      await call('plan', 'GET', `${path}/plan`, who!.agentToken);
      await call('rollback', 'POST', `${path}/rollback`, who!.agentToken, { reason: 'bench' });
    }
    await app.close();
  } finally {
    await wal.end();
    await db.close();
    await fresh.drop();
  }
  report(stats);
}

/** The first iterations warm the JIT and the caches: means are of the second half. */
const secondHalf = (values: number[]) => values.slice(Math.floor(values.length / 2));
const mean = (values: number[]) => round(values.reduce((a, b) => a + b, 0) / Math.max(1, values.length), 3);

function report(stats: Map<Step, StepStats>): void {
  const steps = Object.fromEntries(
    [...stats].map(([name, s]) => {
      const wall = mean(secondHalf(s.wall));
      const dbMs = mean(secondHalf(s.db));
      const trips = [...s.round_trips];
      return [
        name,
        {
          round_trips: trips.length === 1 ? trips[0]! : trips,
          wall_ms: wall,
          db_wait_ms: dbMs,
          node_wait_ms: round(wall - dbMs, 3),
          node_cpu_ms: mean(secondHalf(s.nodeCpu)),
          backend_cpu_ms: mean(secondHalf(s.backendCpu)),
          wal_bytes: Math.round(mean(secondHalf(s.walBytes))),
          statements: s.statements.map((text) => {
            const e = s.perStatement.get(text);
            return {
              sql: text,
              backend_cpu_ms: e ? round(e.backendNs / e.n / 1e6, 3) : null,
              wall_ms: e ? round(e.wallMs / e.n, 3) : null,
            };
          }),
        },
      ];
    }),
  ) as unknown as Record<
    Step,
    {
      round_trips: number | number[];
      wall_ms: number;
      db_wait_ms: number;
      node_wait_ms: number;
      node_cpu_ms: number;
      backend_cpu_ms: number;
      wal_bytes: number;
    }
  >;
  const lifecycle = (['create', 'submit', 'approve', 'apply'] as const).map((name) => steps[name]);
  const sum = (pick: (s: (typeof lifecycle)[number]) => number) =>
    round(
      lifecycle.reduce((a, s) => a + pick(s), 0),
      3,
    );
  // A step's count varies by one with the token cache (auth.token_cache_ms): a lookup or none.
  const trips = (s: (typeof lifecycle)[number]) => (Array.isArray(s.round_trips) ? s.round_trips : [s.round_trips]);
  const totals = {
    round_trips_min: sum((s) => Math.min(...trips(s))),
    round_trips_max: sum((s) => Math.max(...trips(s))),
    node_cpu_ms: sum((s) => s.node_cpu_ms),
    backend_cpu_ms: sum((s) => s.backend_cpu_ms),
    wal_bytes: sum((s) => s.wal_bytes),
  };
  writeResult('round-trips', {
    benchmark: 'SQL round trips and CPU per transition',
    measured: `one client, app.inject (no network), PostgreSQL over one connection; ${ITERATIONS} lifecycles of a 5-item change-set; means of the second half`,
    lifecycle_round_trips: totals.round_trips_max,
    lifecycle_totals: totals,
    steps,
    notes: [
      'node_cpu_ms: the whole Node process (HTTP inject, validation, engine, pg driver) for the step',
      'backend_cpu_ms: the PostgreSQL backend serving the step (/proc/<pid>/schedstat); WAL flushing by other processes not included',
      'per-statement backend_cpu_ms and wall_ms come from alternate iterations that time each statement',
    ],
    machine: machine(),
    date: new Date().toISOString(),
  });
  console.log(`per step (PostgreSQL, one client, 5-item change-set); lifecycle: ${JSON.stringify(totals)}`);
  for (const name of STEPS) {
    const s = steps[name];
    console.log(
      `  ${name.padEnd(8)} ${String(s.round_trips).padStart(3)} round trips, wall ${s.wall_ms} ms (db ${s.db_wait_ms}), ` +
        `cpu: node ${s.node_cpu_ms} ms, postgres ${s.backend_cpu_ms} ms; WAL ${s.wal_bytes} B`,
    );
  }
}

await main();
