// One size of the scale benchmark, in a process of its own so that its peak RSS is its own:
// create, plan, submit, approve, ATOMIC apply and rollback of an N-item change-set on PostgreSQL,
// directly through the Engine. Forked by scale.bench.ts: argv N and the database URL; the result
// goes back over IPC.
import { performance } from 'node:perf_hooks';
import { Engine } from '../src/engine/engine.js';
import { migrate } from '../src/store/migrator.js';
import { openPgDb } from '../src/store/pg-db.js';
import { databaseBackends, onCpuNs } from './lib/cpu.js';
import { benchEngineConfig, changeSetBody } from './lib/fixture.js';
import { observeQueries, sqlLabel } from './lib/query-observer.js';
import { round } from './lib/results.js';

const N = Number(process.argv[2]);
const url = process.argv[3]!;
const database = new URL(url).pathname.slice(1);

export interface Phase {
  name: string;
  ms: number;
  /** This process's CPU (all threads: JS, GC, the pg driver). */
  node_cpu_ms: number;
  /** The CPU of the database's PostgreSQL backends. */
  postgres_cpu_ms: number;
  /** Round trips, and the slowest statements with their time from send to answer. */
  round_trips: number;
  slowest_statements: { sql: string; ms: number }[];
  /** process.hrtime in µs, the clock of CPU profiles, to cut a profile to the phase. */
  from_us: number;
  to_us: number;
  rss_mb: number;
  heap_used_mb: number;
  max_rss_mb: number;
}

const mb = (bytes: number) => round(bytes / 2 ** 20, 1);

async function main() {
  const db = await openPgDb({ connectionString: url, max: 4 });
  const phases: Phase[] = [];
  const timed = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
    const statements: { sql: string; ms: number }[] = [];
    observeQueries((sql) => {
      const t0 = performance.now();
      return () => statements.push({ sql: sqlLabel(sql, 70), ms: round(performance.now() - t0, 1) });
    });
    const backends = databaseBackends(database);
    const postgres0 = backends.reduce((sum, pid) => sum + (onCpuNs(pid) ?? 0), 0);
    const cpu0 = process.cpuUsage();
    const from = process.hrtime.bigint();
    const t0 = performance.now();
    const value = await fn();
    const ms = performance.now() - t0;
    const to = process.hrtime.bigint();
    observeQueries(null);
    const cpu = process.cpuUsage(cpu0);
    const postgres = backends.reduce((sum, pid) => sum + (onCpuNs(pid) ?? 0), 0) - postgres0;
    const memory = process.memoryUsage();
    phases.push({
      name,
      ms: round(ms, 1),
      node_cpu_ms: round((cpu.user + cpu.system) / 1000, 1),
      postgres_cpu_ms: round(postgres / 1e6, 1),
      round_trips: statements.length,
      slowest_statements: statements.sort((a, b) => b.ms - a.ms).slice(0, 5),
      from_us: Number(from / 1000n),
      to_us: Number(to / 1000n),
      rss_mb: mb(memory.rss),
      heap_used_mb: mb(memory.heapUsed),
      max_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
    });
    return value;
  };
  try {
    await migrate(db);
    const engine = new Engine({ db, config: benchEngineConfig('limits:\n  max_items: 100000\n') });
    const make = async (id: string, kind: 'agent' | 'human') =>
      (
        await engine.createPrincipal(
          null,
          { id, kind, display_name: id, email: null, slack_id: null, groups: [], risk: null, active: true },
          { withToken: false },
        )
      ).principal;
    const agent = await make('scale-agent', 'agent');
    const approver = await make('scale-approver', 'human');
    const startRss = process.resourceUsage().maxRSS;
    const body = await timed('build body', () => changeSetBody(`SCALE-${N}`, approver.id, N));
    const created = await timed('create', () => engine.create(agent, body));
    const plan = await timed('plan', () => engine.plan(created.id));
    if (!plan.would_succeed) throw new Error('the plan says the items would fail');
    await timed('submit', () => engine.submit(agent, created.id));
    const approved = await timed('approve', () => engine.decide(approver, created.id, { decision: 'APPROVED' }));
    if (approved.status !== 'APPROVED') throw new Error(`expected APPROVED, got ${approved.status}`);
    const applied = await timed('apply ATOMIC', () => engine.apply(agent, created.id, { mode: 'ATOMIC' }));
    if (!('applied_items' in applied) || applied.applied_items !== N) throw new Error('apply did not apply every item');
    const rolled = await timed('rollback', () => engine.rollback(agent, created.id, { reason: 'bench' }));
    if (rolled.rolled_back_items !== N) throw new Error('rollback did not restore every item');
    await timed('get', () => engine.get(created.id));
    return {
      items: N,
      phases,
      max_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
      max_rss_before_body_mb: round(startRss / 1024, 1),
      request_json_mb: mb(Buffer.byteLength(JSON.stringify(body))),
    };
  } finally {
    await db.close();
  }
}

main().then(
  (result) => process.send?.(result, () => process.exit(0)),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
